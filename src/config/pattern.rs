//! Interface-name patterns: a name, or a glob where `*` matches any run of characters and
//! `?` exactly one. Matching works on characters, not bytes, because interface names may
//! contain emoji and colons.

use std::fmt;

/// Longest pattern accepted, in characters.
const MAX_CHARS: usize = 64;

/// The expected form, quoted in every error.
const EXPECTED: &str = "expected an interface name like \"wlan0\" or a glob like \"wlan*\" \
     (`*` matches any run of characters, `?` one character), 1 to 64 characters, \
     without whitespace or `/`";

/// An interface-name pattern such as `wlan0`, `wlan*` or `eth?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// The pattern as written.
    text: String,
}

impl Pattern {
    /// Checks and wraps a pattern.
    ///
    /// # Errors
    ///
    /// Returns a message naming the problem and the expected form when the pattern is empty,
    /// contains whitespace or `/`, or is longer than 64 characters.
    pub fn new(text: &str) -> Result<Pattern, String> {
        let problem = if text.is_empty() {
            Some("it is empty")
        } else if text.chars().any(char::is_whitespace) {
            Some("it contains whitespace")
        } else if text.contains('/') {
            Some("it contains `/`")
        } else if text.chars().count() > MAX_CHARS {
            Some("it is longer than 64 characters")
        } else {
            None
        };
        match problem {
            None => Ok(Pattern {
                text: text.to_string(),
            }),
            Some(problem) => Err(format!(
                "{} is not a valid interface pattern ({problem}): {EXPECTED}",
                quote_shortened(text)
            )),
        }
    }

    /// Whether `name` matches the pattern as a whole.
    pub fn matches(&self, name: &str) -> bool {
        let pattern: Vec<char> = self.text.chars().collect();
        let name: Vec<char> = name.chars().collect();
        glob_match(&pattern, &name)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern is a plain name, without `*` or `?`.
    pub fn is_literal(&self) -> bool {
        !self.text.contains(['*', '?'])
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Quotes `text` for an error message, cut to 40 characters.
fn quote_shortened(text: &str) -> String {
    if text.chars().count() > 40 {
        let head: String = text.chars().take(40).collect();
        format!("{head:?}…")
    } else {
        format!("{text:?}")
    }
}

/// Glob matching with one backtracking point: on a mismatch, the last `*` seen swallows one
/// more character. Runs in O(pattern × name) at worst.
fn glob_match(pattern: &[char], name: &[char]) -> bool {
    let (mut p, mut n) = (0, 0);
    // Position of the last `*` in the pattern, and the name position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while let Some(&c) = name.get(n) {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&want) if want == '?' || want == c => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((star_p, star_n)) => {
                    p = star_p + 1;
                    n = star_n + 1;
                    star = Some((star_p, star_n + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(text: &str) -> Pattern {
        Pattern::new(text).expect("test pattern is valid")
    }

    #[test]
    fn literal_matches_only_itself() {
        let p = pat("wlan0");
        assert!(p.is_literal());
        assert!(p.matches("wlan0"));
        assert!(!p.matches("wlan01"));
        assert!(!p.matches("wlan"));
        assert!(!p.matches(""));
    }

    #[test]
    fn star_matches_any_run() {
        let p = pat("wlan*");
        assert!(!p.is_literal());
        assert!(p.matches("wlan"));
        assert!(p.matches("wlan0"));
        assert!(p.matches("wlan0.100"));
        assert!(!p.matches("wlp2s0"));
        assert!(pat("*").matches(""));
        assert!(pat("*").matches("anything"));
        assert!(pat("*0").matches("wlan0"));
        assert!(!pat("*0").matches("wlan1"));
        assert!(pat("a*b*c").matches("aXXbYYbc"));
        assert!(!pat("a*b*c").matches("aXXbYYb"));
        assert!(pat("**x").matches("x"));
    }

    #[test]
    fn question_mark_matches_one_char() {
        let p = pat("eth?");
        assert!(p.matches("eth0"));
        assert!(!p.matches("eth"));
        assert!(!p.matches("eth10"));
    }

    #[test]
    fn matches_characters_not_bytes() {
        assert!(pat("wifi-?").matches("wifi-📶"));
        assert!(pat("📶*").matches("📶:hall"));
        assert!(pat("br:?").matches("br:é"));
        assert!(!pat("br:?").matches("br:"));
    }

    #[test]
    fn rejects_bad_patterns_naming_the_form() {
        for bad in ["", "wl an0", "tab\there", "a/b", &"x".repeat(65)] {
            let err = Pattern::new(bad).expect_err(bad);
            assert!(err.contains("expected an interface name"), "{err}");
        }
        assert!(Pattern::new(&"é".repeat(64)).is_ok());
        let long = Pattern::new(&"y".repeat(500)).expect_err("too long");
        assert!(long.len() < 400, "long input is not echoed whole: {long}");
    }

    #[test]
    fn display_and_as_str_give_the_text() {
        let p = pat("docker*");
        assert_eq!(p.as_str(), "docker*");
        assert_eq!(p.to_string(), "docker*");
    }
}
