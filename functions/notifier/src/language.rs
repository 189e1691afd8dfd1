//! The language a channel's messages are written in.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    Zh,
    En,
}

impl Language {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "zh-hans" => Some(Language::Zh),
            "en" | "en-us" | "en-gb" => Some(Language::En),
            _ => None,
        }
    }

    /// The text of this language from an (English, Chinese) pair.
    pub fn pick<'a>(self, (en, zh): (&'a str, &'a str)) -> &'a str {
        match self {
            Language::En => en,
            Language::Zh => zh,
        }
    }

    /// The code used on the wire (`zh`, `en`).
    pub fn code(self) -> &'static str {
        match self {
            Language::Zh => "zh",
            Language::En => "en",
        }
    }
}
