//! Scanning text eight bytes at a time: most of what graphgen reads and
//! writes is plain ASCII, and testing a whole word for the few bytes that
//! need attention is several times cheaper than testing each byte.
//!
//! The masks set the top bit of every byte that matches. A match can also
//! set the top bit of a byte above it (the subtraction borrows), so a
//! mask tells whether a word holds a match, not where.

const ONES: u64 = 0x0101_0101_0101_0101;
const TOPS: u64 = 0x8080_8080_8080_8080;

/// Top bits of the bytes of `word` below `n` (for `n` up to 0x80): such a
/// byte borrows into its top bit when `n` is taken from it.
pub fn bytes_below(word: u64, n: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(n)) & !word & TOPS
}

/// Top bits of the bytes of `word` equal to `byte`: those become zero under
/// `^ byte`, and zero is the one byte below 1.
pub fn bytes_equal(word: u64, byte: u8) -> u64 {
    bytes_below(word ^ (ONES * u64::from(byte)), 1)
}

/// Top bits of the bytes of `word` outside ASCII.
pub fn non_ascii(word: u64) -> u64 {
    word & TOPS
}

/// The first eight bytes of `bytes` as a big-endian word, zero-padded:
/// comparing such words orders texts as their bytes do (a prefix first),
/// up to the eighth byte.
pub fn leading_word(bytes: &[u8]) -> u64 {
    // Map keys and JSON keys are mostly shorter than eight bytes, and this
    // runs for every lookup and every key comparison, so short texts are
    // read as two overlapping loads rather than a byte at a time. The
    // overlapping bytes are the same in both loads, so OR-ing is exact.
    let len = bytes.len();
    // Where the last load's bytes go, for texts shorter than eight bytes.
    let pad = || 64 - 8 * len as u32;
    match len {
        8.. => u64::from_be_bytes(bytes[..8].try_into().unwrap_or_default()),
        4..=7 => {
            let first = u64::from(u32::from_be_bytes(
                bytes[..4].try_into().unwrap_or_default(),
            ));
            let last = u64::from(u32::from_be_bytes(
                bytes[len - 4..].try_into().unwrap_or_default(),
            ));
            first << 32 | last << pad()
        }
        2..=3 => {
            let first = u64::from(u16::from_be_bytes([bytes[0], bytes[1]]));
            let last = u64::from(u16::from_be_bytes([bytes[len - 2], bytes[len - 1]]));
            first << 48 | last << pad()
        }
        1 => u64::from(bytes[0]) << 56,
        _ => 0,
    }
}

/// The last eight bytes of `bytes` (at least eight long), as one word.
pub fn trailing_word(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes[bytes.len() - 8..].try_into().unwrap_or_default())
}

/// The first position from `at` on where a whole word that `plain`
/// accepts does not start: `at` itself when the word there is refused or
/// fewer than eight bytes are left.
pub fn skip_plain_words(bytes: &[u8], mut at: usize, plain: impl Fn(u64) -> bool) -> usize {
    while let Some(word) = bytes.get(at..at + 8)
        && plain(u64::from_le_bytes(word.try_into().unwrap_or_default()))
    {
        at += 8;
    }
    at
}

/// Calls `check` with every word made of plain letters and one other byte,
/// for every byte value in every position: what word-at-a-time tests must
/// agree with a byte-by-byte one on.
#[cfg(test)]
pub fn for_each_word_with_one_byte(mut check: impl FnMut(u64, [u8; 8])) {
    for special in 0..=255u8 {
        for position in 0..8 {
            let mut bytes = *b"abcdefgh";
            bytes[position] = special;
            check(u64::from_le_bytes(bytes), bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_flag_a_word_exactly_when_one_of_its_bytes_matches() {
        for_each_word_with_one_byte(|word, bytes| {
            let control = bytes.iter().any(|&b| b < 0x20);
            assert_eq!(bytes_below(word, 0x20) != 0, control);
            assert_eq!(bytes_equal(word, b'"') != 0, bytes.contains(&b'"'));
            assert_eq!(non_ascii(word) != 0, !bytes.is_ascii());
        });
    }

    #[test]
    fn leading_words_agree_with_a_byte_by_byte_reading() {
        let text = b"abcdefghijk\xff\x80\x01";
        for start in 0..text.len() {
            for end in start..=text.len() {
                let bytes = &text[start..end];
                let expected = bytes
                    .iter()
                    .take(8)
                    .enumerate()
                    .fold(0, |word, (i, &byte)| word | u64::from(byte) << (56 - 8 * i));
                assert_eq!(leading_word(bytes), expected, "{bytes:?}");
            }
        }
    }

    #[test]
    fn trailing_words_hold_the_last_eight_bytes() {
        assert_eq!(trailing_word(b"12345678"), u64::from_le_bytes(*b"12345678"));
        assert_eq!(
            trailing_word(b"0123456789"),
            u64::from_le_bytes(*b"23456789")
        );
    }

    #[test]
    fn leading_words_pad_short_texts_with_zeros() {
        assert_eq!(leading_word(b""), 0);
        assert_eq!(leading_word(b"ab"), 0x6162_0000_0000_0000);
        assert_eq!(leading_word(b"abcdefghij"), leading_word(b"abcdefgh"));
        assert!(leading_word(b"a") < leading_word(b"a\x01"));
    }

    #[test]
    fn plain_words_are_skipped_whole_and_the_tail_is_left() {
        let text = b"0123456789abcdef\"rest-of-it";
        let no_quote = |word| bytes_equal(word, b'"') == 0;
        assert_eq!(skip_plain_words(text, 0, no_quote), 16);
        assert_eq!(skip_plain_words(text, 17, no_quote), 25);
        assert_eq!(skip_plain_words(b"short", 0, no_quote), 0);
    }
}
