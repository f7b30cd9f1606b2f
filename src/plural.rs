//! Counts in sentences: "1 token authenticates", "2 tokens authenticate". Messages that
//! start with a number read wrong when the number is 1 ("1 tokens"), and findings often
//! are about exactly one value.

/// `n` followed by the noun, singular when `n` is 1: `count(1, "token")` is `1 token`,
/// `count(3, "token")` is `3 tokens`. Nouns whose plural is not `+s` use [`count_as`].
pub fn count(n: u64, noun: &str) -> String {
    format!("{n} {}", pick(n, noun, &format!("{noun}s")))
}

/// `n` followed by `singular` or `plural`: `count_as(1, "entry", "entries")`.
pub fn count_as(n: u64, singular: &str, plural: &str) -> String {
    format!("{n} {}", pick(n, singular, plural))
}

/// The word agreeing with `n`: `pick(n, "is", "are")`, `pick(n, "was", "were")`.
pub fn pick<'a>(n: u64, singular: &'a str, plural: &'a str) -> &'a str {
    if n == 1 { singular } else { plural }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_everything_else_plural() {
        assert_eq!(count(1, "token"), "1 token");
        assert_eq!(count(0, "token"), "0 tokens");
        assert_eq!(count(2, "row"), "2 rows");
        assert_eq!(count_as(1, "entry", "entries"), "1 entry");
        assert_eq!(count_as(5, "entry", "entries"), "5 entries");
        assert_eq!(pick(1, "is", "are"), "is");
        assert_eq!(pick(7, "is", "are"), "are");
    }
}
