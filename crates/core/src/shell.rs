//! Values as a command line shows them, for the fixes and commands clientele prints.

/// `s` as one word a POSIX shell reads back as `s`: as it is when it holds only letters,
/// digits and `_-.`, else in single quotes (`it's` → `'it'\''s'`).
pub fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_and_others_are_quoted() {
        assert_eq!(shell_word("重要价值客户"), "重要价值客户");
        assert_eq!(shell_word("At risk"), "'At risk'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
