//! How a job's work is dealt to shards: a rule that depends on the job alone, never on
//! timing, so that every shard computes the same deal and together they cover the work once.
//!
//! * With at least as many chains (partitions) as shards, or chains that cannot be split
//!   (cursor, next URL, a single request), chain `c` runs whole in shard `c mod N`.
//! * With fewer numbered chains (page or offset) than shards, each is split page by page:
//!   page `k` is shard `k mod N`'s (see [`pagefold_fetch::Share`]). Every shard requests the
//!   chain's first page, which tells the total; shard 0 folds it.
//! * With `[child]`, every shard pages through the parents; each child chain is dealt by the
//!   position of its parent record (parent page and record), mixed so that neighbours spread.

use pagefold_fetch::{Pagination, Share};

use super::Shard;

/// What a shard does with one chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deal {
    /// The whole chain runs in this shard.
    Whole(u32),
    /// The chain is split page by page across every shard.
    Split,
}

impl Deal {
    /// What `shard` fetches of a chain dealt so: `None` when nothing, else the share of its
    /// pages (`None` inside: all of them).
    pub fn for_shard(self, shard: Shard) -> Option<Option<Share>> {
        match self {
            Self::Whole(index) if index == shard.index => Some(None),
            Self::Whole(_) => None,
            Self::Split => Some(Some(Share {
                index: shard.index,
                of: shard.of,
            })),
        }
    }
}

/// The deal of `chains` (in job order) over `shards` shards.
pub fn deal<'a>(chains: impl ExactSizeIterator<Item = &'a Pagination>, shards: u32) -> Vec<Deal> {
    let shards = shards.max(1);
    let few = (chains.len() as u64) < u64::from(shards);
    chains
        .enumerate()
        .map(|(chain, pagination)| match pagination {
            Pagination::Numbered(_) if few && shards > 1 => Deal::Split,
            _ => Deal::Whole((chain as u64 % u64::from(shards)) as u32),
        })
        .collect()
}

/// Whether the child chain `chain` (its number from its parent's page and record) is
/// `shard`'s.
pub fn takes_child(chain: u32, shard: Shard) -> bool {
    // splitmix64's finaliser: consecutive parent records land on different shards.
    let mut mixed = u64::from(chain).wrapping_add(0x9e37_79b9_7f4a_7c15);
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    mixed ^= mixed >> 31;
    mixed % u64::from(shard.of.max(1)) == u64::from(shard.index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered() -> Pagination {
        Pagination::Numbered(pagefold_fetch::NumberedPagination::pages("page"))
    }

    #[test]
    fn few_numbered_chains_split_and_many_go_whole() {
        assert_eq!(deal([numbered()].iter(), 4), [Deal::Split]);
        assert_eq!(deal([numbered()].iter(), 1), [Deal::Whole(0)]);
        let five = vec![numbered(); 5];
        assert_eq!(
            deal(five.iter(), 4),
            [0, 1, 2, 3, 0].map(Deal::Whole).to_vec()
        );
        assert_eq!(deal([Pagination::None].iter(), 4), [Deal::Whole(0)]);
    }

    #[test]
    fn every_child_chain_goes_to_exactly_one_shard() {
        for chain in 0..1000 {
            let takers = (0..4)
                .filter(|&index| takes_child(chain, Shard { index, of: 4 }))
                .count();
            assert_eq!(takers, 1);
        }
        let first = (0..400)
            .filter(|&chain| takes_child(chain, Shard { index: 0, of: 4 }))
            .count();
        assert!((60..140).contains(&first), "{first} of 400");
    }
}
