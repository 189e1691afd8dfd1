//! Event type patterns of the routing rules.

/// A type pattern: `*` matches any run of characters (`media.*`, `*.failed`, `*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypePattern(String);

impl TypePattern {
    pub fn parse(pattern: &str) -> Result<Self, String> {
        if pattern.is_empty() {
            return Err("an empty type pattern".into());
        }
        if let Some(c) = pattern
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '*')))
        {
            return Err(format!("type pattern {pattern:?} contains {c:?} (allowed: letters, digits, . _ - and * as wildcard)"));
        }
        Ok(Self(pattern.to_string()))
    }

    pub fn matches(&self, event_type: &str) -> bool {
        glob_match(self.0.as_bytes(), event_type.as_bytes())
    }
}

fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    // Iterative wildcard matching with backtracking to the last `*`.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_any_run_of_characters() {
        let p = |s: &str| TypePattern::parse(s).unwrap();
        assert!(p("*").matches("anything.at.all"));
        assert!(p("media.*").matches("media.flagged"));
        assert!(!p("media.*").matches("mediax.flagged"));
        assert!(p("*.failed").matches("media.failed"));
        assert!(p("m*a.*ed").matches("media.flagged"));
        assert!(!p("cost.threshold").matches("cost.thresholds"));
    }
}
