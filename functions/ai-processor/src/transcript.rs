//! Transcription: deterministic job names and the summary of a Transcribe transcript document.

use serde::{Deserialize, Serialize};

/// Transcribe job names allow `[0-9a-zA-Z._-]`, at most 200 characters.
const MAX_JOB_NAME: usize = 200;
/// Default of `TRANSCRIBE_JOB_PREFIX`. Every job this stack starts is named with its prefix: the
/// Transcribe state-change rule filters on it, and a completion of any other job is not ours.
pub const JOB_NAME_PREFIX: &str = "media-suite-";
const READABLE_PART: usize = 60;

/// The job name for one upload: a readable part of the file name plus a hash of bucket, key
/// and version (or ETag), so a duplicate S3 event names the same job and Transcribe refuses
/// to start it twice.
pub fn job_name(prefix: &str, bucket: &str, key: &str, discriminator: &str) -> String {
    let file = key.rsplit('/').next().unwrap_or(key);
    let mut readable = String::new();
    for c in file.chars() {
        if readable.len() >= READABLE_PART {
            break;
        }
        if c.is_ascii_alphanumeric() || c == '_' {
            readable.push(c);
        } else if !readable.ends_with('-') {
            readable.push('-');
        }
    }
    let readable = readable.trim_matches('-');
    let hash = shared::events::stable_id(&["transcribe", bucket, key, discriminator]);
    let name = if readable.is_empty() {
        format!("{prefix}{hash}")
    } else {
        format!("{prefix}{readable}-{hash}")
    };
    name.chars().take(MAX_JOB_NAME).collect()
}

/// Whether this suite started the job of that name.
pub fn is_ours(prefix: &str, job_name: &str) -> bool {
    job_name.starts_with(prefix)
}

/// Where Transcribe writes the transcript of `job_name` in the results bucket.
pub fn output_key(job_name: &str) -> String {
    format!("transcripts/{job_name}.json")
}

/// The subtitle formats requested with every job; Transcribe writes each beside the
/// transcript, with the format as extension.
pub const SUBTITLE_FORMATS: [&str; 2] = ["srt", "vtt"];

/// Where Transcribe writes the subtitles of `job_name`.
pub fn subtitle_keys(job_name: &str) -> Vec<String> {
    SUBTITLE_FORMATS
        .iter()
        .map(|format| format!("transcripts/{job_name}.{format}"))
        .collect()
}

/// Every object a job writes into the results bucket.
pub fn outputs(job_name: &str) -> Vec<String> {
    let mut keys = vec![output_key(job_name)];
    keys.extend(subtitle_keys(job_name));
    keys
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TranscriptSummary {
    pub language: Option<String>,
    pub duration_seconds: f64,
    pub word_count: usize,
    /// The first sentences, each at most 200 characters.
    pub first_lines: Vec<String>,
}

const FIRST_LINES: usize = 3;
const LINE_CHARS: usize = 200;

#[derive(Deserialize)]
struct TranscriptDocument {
    results: TranscriptResults,
}

#[derive(Deserialize)]
struct TranscriptResults {
    transcripts: Vec<TranscriptText>,
    #[serde(default)]
    items: Vec<TranscriptItem>,
    #[serde(default)]
    language_code: Option<String>,
}

#[derive(Deserialize)]
struct TranscriptText {
    transcript: String,
}

#[derive(Deserialize)]
struct TranscriptItem {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    end_time: Option<String>,
}

/// Summarises a Transcribe output document. `job_language` (from the job) is used when the
/// document does not name the identified language.
pub fn summarise(bytes: &[u8], job_language: Option<&str>) -> Result<TranscriptSummary, String> {
    let doc: TranscriptDocument = serde_json::from_slice(bytes)
        .map_err(|e| format!("not a Transcribe transcript document: {e}"))?;
    let text: String = doc
        .results
        .transcripts
        .iter()
        .map(|t| t.transcript.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let words = doc
        .results
        .items
        .iter()
        .filter(|i| i.kind == "pronunciation")
        .count();
    let word_count = if doc.results.items.is_empty() {
        text.split_whitespace().count()
    } else {
        words
    };
    let duration_seconds = doc
        .results
        .items
        .iter()
        .filter_map(|i| i.end_time.as_deref()?.parse::<f64>().ok())
        .fold(0.0_f64, f64::max);
    Ok(TranscriptSummary {
        language: doc
            .results
            .language_code
            .or_else(|| job_language.map(str::to_string)),
        duration_seconds,
        word_count,
        first_lines: first_lines(&text),
    })
}

fn first_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        current.push(c);
        if matches!(c, '.' | '!' | '?' | '。' | '！' | '？' | '\n') {
            push_line(&mut lines, &current);
            current.clear();
            if lines.len() == FIRST_LINES {
                return lines;
            }
        }
    }
    push_line(&mut lines, &current);
    lines
}

fn push_line(lines: &mut Vec<String>, line: &str) {
    let line = line.trim();
    if !line.is_empty() && lines.len() < FIRST_LINES {
        lines.push(line.chars().take(LINE_CHARS).collect());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_are_stable_valid_and_bounded() {
        let a = job_name(
            JOB_NAME_PREFIX,
            "media",
            "videos/我的 视频 (1).mp4",
            "etag-1",
        );
        assert_eq!(
            a,
            job_name(
                JOB_NAME_PREFIX,
                "media",
                "videos/我的 视频 (1).mp4",
                "etag-1"
            )
        );
        assert_ne!(
            a,
            job_name(
                JOB_NAME_PREFIX,
                "media",
                "videos/我的 视频 (1).mp4",
                "etag-2"
            )
        );
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)));
        assert!(a.starts_with("media-suite-1-mp4-"), "{a}");
        assert!(is_ours(JOB_NAME_PREFIX, &a));
        assert!(!is_ours(JOB_NAME_PREFIX, "other-team-job"));
        let long = job_name(
            JOB_NAME_PREFIX,
            "media",
            &format!("audio/{}.mp3", "x".repeat(500)),
            "e",
        );
        assert!(long.len() <= 200);
    }

    #[test]
    fn summary_counts_words_duration_and_first_sentences() {
        let doc = br#"{"jobName":"j","accountId":"1","status":"COMPLETED","results":{
            "language_code":"en-US",
            "transcripts":[{"transcript":"Hello there. This is a test! Third line? Fourth."}],
            "items":[
              {"type":"pronunciation","start_time":"0.0","end_time":"0.4","alternatives":[{"confidence":"0.9","content":"Hello"}]},
              {"type":"pronunciation","start_time":"0.4","end_time":"0.8","alternatives":[{"confidence":"0.9","content":"there"}]},
              {"type":"punctuation","alternatives":[{"confidence":"0.0","content":"."}]},
              {"type":"pronunciation","start_time":"7.5","end_time":"8.25","alternatives":[{"confidence":"0.9","content":"Fourth"}]}
            ]}}"#;
        let s = summarise(doc, Some("zh-CN")).unwrap();
        assert_eq!(s.language.as_deref(), Some("en-US"));
        assert_eq!(s.word_count, 3);
        assert_eq!(s.duration_seconds, 8.25);
        assert_eq!(
            s.first_lines,
            vec!["Hello there.", "This is a test!", "Third line?"]
        );
        assert!(summarise(b"{\"results\":{}}", None).is_err());
    }
}
