//! Documents under `documents/`: the completion of their text extraction job (Textract, or a
//! SageMaker asynchronous inference speaking the OCR contract). The text (lines
//! with confidence and page numbers) goes to `text/<media key>.json`, runs through
//! `OCR_KEYWORDS` (a match sends the document to `review`), and `document.text_ready`
//! announces its URI, pages and language.

use serde::Serialize;
use shared::batch::RecordError;
use shared::events::contracts::document::DocumentTextReady;
use shared::events::contracts::media::{FlaggedLabel, Verdict};
use shared::events::{stable_id, Envelope, Severity};
use shared::results::{ObjectStore, WriteCondition};
use shared::time::Clock;

use super::completions::{answer_location, JobEnded};
use super::{Adapters, Processor, Tally, SOURCE};
use crate::analysis::{AnalysisDocument, SourceObject, TextPart};
use crate::inbound::TextractJobDone;
use crate::ports::{ExtractedText, KeywordSource, TextExtractor, TextLine};

/// Where the text of a document lives in the results bucket.
pub fn text_key(media_key: &str) -> String {
    format!("text/{media_key}.json")
}

/// The stored text document.
#[derive(Serialize)]
struct TextDocument<'a> {
    source: &'a SourceObject,
    pages: u32,
    language: Option<&'a str>,
    lines: &'a [TextLine],
}

/// `zh` when most letters are CJK ideographs, `en` when most are Latin, else unknown.
pub fn language_of(lines: &[TextLine]) -> Option<String> {
    let (mut cjk, mut latin) = (0usize, 0usize);
    for c in lines.iter().flat_map(|l| l.text.chars()) {
        if ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3400}'..='\u{4dbf}').contains(&c) {
            cjk += 1;
        } else if c.is_ascii_alphabetic() {
            latin += 1;
        }
    }
    match (cjk, latin) {
        (0, 0) => None,
        (c, l) if c >= l => Some("zh".into()),
        _ => Some("en".into()),
    }
}

/// The keywords (lower-cased) found in the text, case-insensitively, in keyword order.
pub fn matched_terms(lines: &[TextLine], keywords: &[String]) -> Vec<String> {
    let text = lines
        .iter()
        .map(|l| l.text.to_lowercase())
        .collect::<Vec<_>>()
        .join("\n");
    keywords
        .iter()
        .filter(|k| !k.is_empty() && text.contains(k.as_str()))
        .cloned()
        .collect()
}

impl<A: Adapters> Processor<A> {
    /// A Textract text detection job ended.
    pub(super) async fn on_text_job(
        &self,
        done: TextractJobDone,
        tally: &Tally,
    ) -> Result<(), RecordError> {
        if done.bucket != self.settings.media_bucket {
            self.skip(
                tally,
                &done.bucket,
                &done.key,
                "text extraction job of an object outside the media bucket",
            );
            return Ok(());
        }
        let ended = JobEnded {
            outcome: if done.succeeded() {
                Ok(None)
            } else {
                Err(format!(
                    "text extraction job {} ended {}",
                    done.job_id, done.status
                ))
            },
            job_id: done.job_id,
            media_key: done.key,
            status: done.status,
        };
        self.finish_text_job(ended, tally).await
    }

    /// The text extraction job of a document ended (Textract or a SageMaker inference): store
    /// the text, match the keywords, record the verdict (or the failure) once, tag the
    /// upload, announce it.
    pub(super) async fn finish_text_job(
        &self,
        ended: JobEnded,
        tally: &Tally,
    ) -> Result<(), RecordError> {
        let (job_id, key) = (ended.job_id.as_str(), ended.media_key.as_str());
        // Whose job is it? Checked before the result is read.
        let waiting = |doc: &AnalysisDocument| doc.text.job_id.as_deref() == Some(job_id);
        let Some(stored) = self
            .document_waiting_for(&ended, "text", waiting, tally)
            .await?
        else {
            return Ok(());
        };
        let claim = stable_id(&["text-job", job_id, &ended.status]);
        self.exactly_once(&claim, tally, || async {
            let outcome: Result<ExtractedText, String> = match &ended.outcome {
                Ok(notified) => {
                    let output = answer_location(
                        stored.text.output_location.as_deref(),
                        notified.as_deref(),
                    );
                    Ok(self.ports.text.text(job_id, output).await?)
                }
                Err(reason) => Err(reason.clone()),
            };
            let part = match &outcome {
                Ok(extracted) => Some(self.store_text(&stored.source, extracted).await?),
                Err(_) => None,
            };
            let now = self.ports.clock.now();
            let updated = self
                .update_document(key, |doc| {
                    if !waiting(doc) {
                        return false;
                    }
                    match (&part, &outcome) {
                        (Some(part), _) => {
                            let flagged = keyword_labels(&part.matched_terms);
                            doc.record_text(part.clone(), flagged, now)
                        }
                        (None, Err(reason)) => doc.text_failed(reason, now),
                        (None, Ok(_)) => {}
                    }
                    true
                })
                .await?;
            let Some(doc) = updated else {
                return Ok(());
            };
            Tally::add(&tally.job_completions);
            self.write_verdict_tags(&doc).await?;
            match &outcome {
                Ok(_) => {
                    self.publish(self.text_ready(&doc)).await?;
                    self.publish_flagged(&doc).await?;
                }
                Err(reason) => self.publish_failed(&doc, "text", reason).await?,
            }
            if doc.is_complete() {
                self.publish_analyzed(&doc).await?;
            }
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// Writes the text document; the part of the analysis document that describes it.
    async fn store_text(
        &self,
        source: &SourceObject,
        extracted: &ExtractedText,
    ) -> Result<TextPart, RecordError> {
        let key = text_key(&source.key);
        let language = language_of(&extracted.lines);
        let mut keywords = self.settings.ocr_keywords.clone();
        keywords.extend(self.ports.keywords.keywords().await?);
        let body = serde_json::to_vec(&TextDocument {
            source,
            pages: extracted.pages,
            language: language.as_deref(),
            lines: &extracted.lines,
        })
        .map_err(|e| RecordError::permanent(format!("text document: {e}")))?;
        self.ports
            .results
            .put(&key, body, "application/json", WriteCondition::Always)
            .await?;
        if extracted.lines.is_empty() {
            tracing::info!(key = %source.key, pages = extracted.pages, "the document has no text");
        }
        Ok(TextPart {
            text_uri: Some(self.results_uri(&key)),
            pages: extracted.pages,
            lines: u32::try_from(extracted.lines.len()).unwrap_or(u32::MAX),
            language,
            matched_terms: matched_terms(&extracted.lines, &keywords),
            ..TextPart::default()
        })
    }

    fn text_ready(&self, doc: &AnalysisDocument) -> Envelope {
        let payload = DocumentTextReady {
            bucket: doc.source.bucket.clone(),
            key: doc.source.key.clone(),
            version_id: doc.source.version_id.clone(),
            text: doc.text.text_uri.clone().unwrap_or_default(),
            pages: doc.text.pages,
            lines: doc.text.lines,
            language: doc.text.language.clone(),
            verdict: doc.verdict.unwrap_or(Verdict::Approved),
            matched_terms: doc.text.matched_terms.clone(),
            backend: self.ports.text.name().to_string(),
            analysis_document: self.document_uri(doc),
        };
        Envelope::of(
            &payload,
            SOURCE,
            &doc.source.uri(),
            Severity::Info,
            doc.source.discriminator(),
        )
        .first_published_at(super::announce::upload_time(doc))
    }
}

/// A matched keyword as a flagged label: it sends the document to review.
fn keyword_labels(terms: &[String]) -> Vec<FlaggedLabel> {
    terms
        .iter()
        .map(|term| FlaggedLabel {
            name: term.clone(),
            category: "Keyword".into(),
            confidence: 100.0,
            verdict: Verdict::Review,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> TextLine {
        TextLine {
            page: 1,
            text: text.into(),
            confidence: 99.0,
        }
    }

    #[test]
    fn keywords_match_case_insensitively_in_either_language() {
        let lines = [
            line("本合同包含 赌博 条款"),
            line("Contains GAMBLING terms"),
        ];
        let keywords = vec!["赌博".to_string(), "gambling".into(), "drugs".into()];
        assert_eq!(matched_terms(&lines, &keywords), vec!["赌博", "gambling"]);
        assert_eq!(language_of(&lines[..1]), Some("zh".into()));
        assert_eq!(language_of(&lines[1..]), Some("en".into()));
        assert_eq!(language_of(&[]), None);
    }
}
