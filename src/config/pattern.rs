// TEMPORARY: replaced by the config-loader branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(String);
impl Pattern {
    pub fn new(s: &str) -> Result<Pattern, String> {
        Ok(Pattern(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn is_literal(&self) -> bool {
        !self.0.contains(['*', '?'])
    }
    pub fn matches(&self, name: &str) -> bool {
        fn m(p: &[char], n: &[char]) -> bool {
            match p.split_first() {
                None => n.is_empty(),
                Some(('*', rest)) => (0..=n.len()).any(|i| m(rest, &n[i..])),
                Some(('?', rest)) => !n.is_empty() && m(rest, &n[1..]),
                Some((c, rest)) => n.first() == Some(c) && m(rest, &n[1..]),
            }
        }
        let p: Vec<char> = self.0.chars().collect();
        let n: Vec<char> = name.chars().collect();
        m(&p, &n)
    }
}
impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
