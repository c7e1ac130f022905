//! A tiny scripted HTTP server on 127.0.0.1 for the client's and pipeline's unit tests.
//! (The full fake Mixpanel server for integration tests lives in `tests/common`.)

use std::convert::Infallible;
use std::io::Read;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Path and query.
    pub uri: String,
    /// `Authorization` header.
    pub authorization: String,
    /// `Content-Encoding` header.
    pub content_encoding: String,
    /// The decompressed NDJSON lines.
    pub lines: Vec<String>,
}

/// What to answer: status, extra headers, body. `None` drops the connection without answering.
pub type Reply = Option<(u16, Vec<(String, String)>, String)>;

/// The scripted server.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Requests seen so far.
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl TestServer {
    /// Start on a random port; `reply` gets the request number (0-based) and the request.
    pub async fn start<F>(reply: F) -> TestServer
    where
        F: Fn(usize, &Seen) -> Reply + Send + Sync + 'static,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let reply = Arc::new(reply);
        let seen_in = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let seen = seen_in.clone();
                let reply = reply.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let seen = seen.clone();
                        let reply = reply.clone();
                        async move {
                            let uri = req.uri().to_string();
                            let header = |name: &str| {
                                req.headers()
                                    .get(name)
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or("")
                                    .to_owned()
                            };
                            let authorization = header("authorization");
                            let content_encoding = header("content-encoding");
                            let raw = req.into_body().collect().await.unwrap().to_bytes();
                            let mut text = String::new();
                            if content_encoding == "gzip" {
                                flate2::read::GzDecoder::new(&raw[..])
                                    .read_to_string(&mut text)
                                    .unwrap();
                            } else {
                                text = String::from_utf8_lossy(&raw).into_owned();
                            }
                            let request = Seen {
                                uri,
                                authorization,
                                content_encoding,
                                lines: text.lines().map(str::to_owned).collect(),
                            };
                            let n = {
                                let mut all = seen.lock().unwrap();
                                all.push(request.clone());
                                all.len() - 1
                            };
                            match reply(n, &request) {
                                Some((status, headers, body)) => {
                                    let mut resp = Response::builder().status(status);
                                    for (k, v) in headers {
                                        resp = resp.header(k, v);
                                    }
                                    Ok::<_, Infallible>(
                                        resp.body(Full::new(Bytes::from(body))).unwrap(),
                                    )
                                }
                                None => {
                                    // Drop the connection: answer with a broken response.
                                    Ok(Response::builder()
                                        .status(200)
                                        .header("content-length", "1000")
                                        .body(Full::new(Bytes::from_static(b"{\"co")))
                                        .unwrap())
                                }
                            }
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        TestServer { base, seen }
    }

    /// Requests so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A 200 reply for `n` events.
pub fn ok(n: usize) -> Reply {
    Some((
        200,
        vec![],
        format!(r#"{{"code":200,"num_records_imported":{n},"status":"OK"}}"#),
    ))
}
