//! Finding where a JSON string ends: the first `"` or `\` in its bytes (and, for the strict
//! walk, the first control character, which a string may not hold).

use memchr::memchr2;

const ONES: u64 = u64::from_ne_bytes([1; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// The eight bytes of `bytes` from `at`, the first in the low byte, if there are eight.
#[inline(always)]
fn word_at(bytes: &[u8], at: usize) -> Option<u64> {
    let chunk = bytes.get(at..at + 8)?;
    Some(u64::from_le_bytes(
        chunk.try_into().expect("a slice of eight bytes"),
    ))
}

/// The high bit of each byte of `word` that is `"` or `\`. The bytes that are zero once
/// xored with either get their high bit set; a borrow may also flag a byte above a true
/// match, never below one, so the lowest flag is a match.
#[inline(always)]
fn quotes_and_backslashes(word: u64) -> u64 {
    let quotes = word ^ (ONES * u64::from(b'"'));
    let slashes = word ^ (ONES * u64::from(b'\\'));
    ((quotes.wrapping_sub(ONES) & !quotes) | (slashes.wrapping_sub(ONES) & !slashes)) & HIGHS
}

/// The high bit of each byte of `word` below 0x20: subtracting 0x20 from each borrows into
/// the high bit exactly there (a byte of 0x80 or more keeps its high bit out through
/// `!word`); as above, borrows only flag bytes above a true match.
#[inline(always)]
fn control_characters(word: u64) -> u64 {
    word.wrapping_sub(ONES * 0x20) & !word & HIGHS
}

/// The offset of the lowest flagged byte.
#[inline(always)]
fn lowest(flags: u64) -> usize {
    (flags.trailing_zeros() / 8) as usize
}

/// Where the first `"` or `\` of `bytes` is. Eight bytes a step while the string is short, as
/// most keys and values are (a byte loop cost the scan a quarter of its time); `memchr` past
/// that, whose set-up pays off on long strings.
#[inline(always)]
pub(crate) fn quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    const LONG: usize = 32;
    let mut at = 0;
    while let Some(word) = word_at(bytes, at) {
        let flags = quotes_and_backslashes(word);
        if flags != 0 {
            return Some(at + lowest(flags));
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

/// Where the first `"`, `\` or control character (below 0x20) of `bytes` is: what ends a
/// string, continues it with an escape, or makes it invalid. Eight bytes a step throughout:
/// no `memchr` looks for a range.
#[inline(always)]
pub(crate) fn string_stop(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(word) = word_at(bytes, at) {
        let flags = quotes_and_backslashes(word) | control_characters(word);
        if flags != 0 {
            return Some(at + lowest(flags));
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)
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

    #[test]
    fn string_stop_finds_the_first_quote_backslash_or_control_character() {
        // Each target at each place of every length around the word boundary, among bytes
        // next to the targets in value (0x20, 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xff).
        for length in 0..40 {
            for place in 0..=length {
                for target in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                    let mut bytes: Vec<u8> = (0..length)
                        .map(|at| [b' ', b'!', b'[', b']', 0x7f, 0x80, 0xff, b'a'][at % 8])
                        .collect();
                    if place < length {
                        bytes[place] = target;
                    }
                    let expected = bytes
                        .iter()
                        .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
                    assert_eq!(super::string_stop(&bytes), expected, "{bytes:?}");
                }
            }
        }
    }
}
