//! Finding where a JSON string ends: the first `"` or `\` in its bytes.

use memchr::memchr2;

/// Where the first `"` or `\` of `bytes` is. Eight bytes a step while the string is short, as
/// most keys and values are (a byte loop cost the scan a quarter of its time); `memchr` past
/// that, whose set-up pays off on long strings.
pub(crate) fn quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const LONG: usize = 32;
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("a slice of eight bytes"));
        let quotes = word ^ (ONES * u64::from(b'"'));
        let slashes = word ^ (ONES * u64::from(b'\\'));
        // The bytes that are zero in `quotes` or `slashes` get their high bit set. A borrow
        // may also flag a byte above a true zero, never below one, so the lowest flag is a
        // match.
        let flags = ((quotes.wrapping_sub(ONES) & !quotes)
            | (slashes.wrapping_sub(ONES) & !slashes))
            & HIGHS;
        if flags != 0 {
            return Some(at + (flags.trailing_zeros() / 8) as usize);
        }
        at += 8;
        if at >= LONG {
            return memchr2(b'"', b'\\', &bytes[at..]).map(|found| at + found);
        }
    }
    bytes[at..]
        .iter()
        .position(|&byte| byte == b'"' || byte == b'\\')
        .map(|found| at + found)
}

#[cfg(test)]
mod tests {
    #[test]
    fn quote_or_backslash_finds_the_first_of_either() {
        // Every length around the word and `memchr` boundaries, each target at each place,
        // and bytes that sit next to `"` and `\` in value (a borrow must not fool the test).
        for length in 0..80 {
            for place in 0..=length {
                for target in [b'"', b'\\'] {
                    let mut bytes: Vec<u8> = (0..length)
                        .map(|at| [b'!', b'#', b'[', b']', 0xe2, b'a'][at % 6])
                        .collect();
                    if place < length {
                        bytes[place] = target;
                    }
                    let expected = bytes.iter().position(|&b| b == b'"' || b == b'\\');
                    assert_eq!(super::quote_or_backslash(&bytes), expected, "{bytes:?}");
                }
            }
        }
    }
}
