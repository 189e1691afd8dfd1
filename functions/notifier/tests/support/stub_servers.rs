//! Stand-ins for the services on 127.0.0.1: a minimal HTTP/1.1 server that records each
//! request and answers from a script, and a minimal SMTP server that accepts mail.
//! Written by hand (a few dozen lines each) so a test controls delays and error shapes
//! exactly, without adding a server stack to the build.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One request as the stub received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A query parameter, still percent-encoded as it was sent.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let (_, query) = self.target.split_once('?')?;
        query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == name).then(|| v.to_string())
        })
    }
}

/// What the stub answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn new(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn ok(body: &str) -> Self {
        Self::new(200, body)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Responder = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

pub struct HttpStub {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: JoinHandle<()>,
}

impl HttpStub {
    /// Starts a server; `respond` gets each request and its 0-based index.
    pub async fn start(
        respond: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let respond: Arc<Responder> = Arc::new(respond);
        let seen = requests.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let seen = seen.clone();
                let respond = respond.clone();
                tokio::spawn(async move {
                    let mut stream = BufReader::new(stream);
                    let Some(request) = read_request(&mut stream).await else {
                        return;
                    };
                    let index = {
                        let mut all = seen.lock().unwrap();
                        all.push(request.clone());
                        all.len() - 1
                    };
                    let reply = respond(&request, index);
                    tokio::time::sleep(reply.delay).await;
                    let mut head = format!(
                        "HTTP/1.1 {} Stub\r\nContent-Length: {}\r\nConnection: close\r\n",
                        reply.status,
                        reply.body.len()
                    );
                    for (k, v) in &reply.headers {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    head.push_str("\r\n");
                    let stream = stream.get_mut();
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(reply.body.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Self {
            addr,
            requests,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for HttpStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_request<R: tokio::io::AsyncBufRead + Unpin>(stream: &mut R) -> Option<Recorded> {
    let mut line = String::new();
    stream.read_line(&mut line).await.ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        stream.read_line(&mut h).await.ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.ok()?;
    Some(Recorded {
        method,
        target,
        headers,
        body,
    })
}

/// One mail as the SMTP stub received it.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    pub from: String,
    pub recipients: Vec<String>,
    /// The message as sent after DATA (headers and body).
    pub data: String,
    /// `user\0password` from AUTH PLAIN.
    pub auth: Option<String>,
}

pub struct SmtpStub {
    pub addr: SocketAddr,
    mails: Arc<Mutex<Vec<Mail>>>,
    logins: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl SmtpStub {
    /// Starts an SMTP server that answers RCPT TO with `rcpt_reply` (e.g. "250 OK",
    /// "550 5.1.1 no such user", "451 4.3.0 try later").
    pub async fn start(rcpt_reply: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mails: Arc<Mutex<Vec<Mail>>> = Arc::default();
        let logins: Arc<Mutex<Vec<String>>> = Arc::default();
        let (store, seen_logins) = (mails.clone(), logins.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (store, seen_logins) = (store.clone(), seen_logins.clone());
                tokio::spawn(async move {
                    let _ = smtp_session(stream, rcpt_reply, store, seen_logins).await;
                });
            }
        });
        Self {
            addr,
            mails,
            logins,
            task,
        }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    /// Every AUTH PLAIN credential received, whether a mail followed or not.
    pub fn logins(&self) -> Vec<String> {
        self.logins.lock().unwrap().clone()
    }
}

impl Drop for SmtpStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn smtp_session(
    stream: tokio::net::TcpStream,
    rcpt_reply: &str,
    store: Arc<Mutex<Vec<Mail>>>,
    logins: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    use base64::Engine;
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    write.write_all(b"220 stub ESMTP ready\r\n").await?;
    let mut mail = Mail::default();
    let mut auth = None;
    loop {
        let mut line = String::new();
        if read.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") {
            "250-stub\r\n250-AUTH PLAIN\r\n250 8BITMIME".into()
        } else if upper.starts_with("AUTH PLAIN ") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(command[11..].trim())
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&decoded).into_owned();
            auth = Some(text.trim_start_matches('\0').to_string());
            logins.lock().unwrap().push(text);
            "235 2.7.0 Authentication successful".into()
        } else if upper.starts_with("MAIL FROM:") {
            mail = Mail {
                from: command[10..].trim().to_string(),
                auth: auth.clone(),
                ..Mail::default()
            };
            "250 OK".into()
        } else if upper.starts_with("RCPT TO:") {
            if rcpt_reply.starts_with('2') {
                mail.recipients.push(command[8..].trim().to_string());
            }
            rcpt_reply.into()
        } else if upper == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if read.read_line(&mut l).await? == 0 {
                    return Ok(());
                }
                if l == ".\r\n" {
                    break;
                }
                data.push_str(&l);
            }
            mail.data = data;
            store.lock().unwrap().push(mail.clone());
            "250 OK queued".into()
        } else if upper == "QUIT" {
            write.write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else {
            "250 OK".into()
        };
        write.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
}
