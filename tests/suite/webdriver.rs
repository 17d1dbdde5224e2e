//! A small W3C WebDriver client (over reqwest) for the portal tests:
//! Debian's `chromedriver` drives Debian's headless `chromium`.
//!
//! Only what the tests use: sessions with Chromium options, navigation,
//! elements (find, type, click, read), scripts, screenshots, and the
//! browser's console log (ChromeDriver's `se/log`), so a test can fail on
//! any console error. Waiting is polling the DOM with a deadline, never a
//! fixed sleep.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// The W3C element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long a wait for something on a page may take.
pub const WAIT: Duration = Duration::from_secs(30);

/// A running chromedriver.
pub struct Driver {
    _process: Child,
    base: String,
    http: reqwest::Client,
    /// Sessions not yet quit: closed when the driver is dropped, so a test
    /// that panics halfway leaves no browser running.
    open: Arc<Mutex<Vec<String>>>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let open = std::mem::take(&mut *self.open.lock().unwrap_or_else(|p| p.into_inner()));
        for session in open {
            end_session_blocking(&self.base, &session);
        }
    }
}

/// `DELETE /session/{id}` with blocking I/O (a `Drop` cannot await):
/// chromedriver closes that browser before the driver process is killed.
fn end_session_blocking(base: &str, session: &str) {
    use std::io::{Read, Write};
    let address = base.trim_start_matches("http://");
    let Ok(mut stream) = std::net::TcpStream::connect(address) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
    let request = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
    }
}

/// Where Debian's packages put them.
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

impl Driver {
    /// Starts chromedriver on a free loopback port, or `None` when the
    /// browser is not installed (`.ci/run` installs it; with `CI=true` its
    /// absence fails the test instead).
    pub async fn start() -> Option<Driver> {
        if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but chromium/chromedriver are not installed (.ci/run installs them)"
            );
            eprintln!("skipping the browser test: chromium and chromium-driver are not installed");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let process = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver {
            _process: process,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            open: Arc::default(),
        };
        let deadline = Instant::now() + WAIT;
        loop {
            let ready = driver
                .http
                .get(format!("{}/status", driver.base))
                .send()
                .await
                .ok()
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ready {
                return Some(driver);
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A new browser (its own profile, so its own cookies) of the given
    /// window size; `camera` is a Y4M file the fake camera plays.
    pub async fn browser(
        &self,
        profile: &Path,
        size: (u32, u32),
        camera: Option<&Path>,
    ) -> Browser {
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--lang=zh-CN".into(),
            format!("--user-data-dir={}", profile.display()),
            format!("--window-size={},{}", size.0, size.1),
        ];
        if let Some(camera) = camera {
            args.push("--use-fake-ui-for-media-stream".into());
            args.push("--use-fake-device-for-media-stream".into());
            args.push(format!(
                "--use-file-for-fake-video-capture={}",
                camera.display()
            ));
        }
        let downloads = profile.join("downloads");
        std::fs::create_dir_all(&downloads).unwrap();
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": args,
                    "prefs": {
                        "download.default_directory": downloads.display().to_string(),
                        "download.prompt_for_download": false,
                    },
                },
                "goog:loggingPrefs": { "browser": "ALL" },
            } }
        });
        let reply = self.call("POST", "/session", Some(capabilities)).await;
        let session = reply["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {reply}"))
            .to_string();
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(session.clone());
        Browser {
            http: self.http.clone(),
            base: format!("{}/session/{session}", self.base),
            downloads,
            session,
            open: self.open.clone(),
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        call(&self.http, method, &format!("{}{path}", self.base), body).await
    }
}

async fn call(http: &reqwest::Client, method: &str, url: &str, body: Option<Value>) -> Value {
    match try_call(http, method, url, body).await {
        Ok(value) => value,
        Err(error) => panic!("{method} {url}: {error}"),
    }
}

/// A WebDriver command; its error value (`{"error", "message"}`) when it
/// failed.
async fn try_call(
    http: &reqwest::Client,
    method: &str,
    url: &str,
    body: Option<Value>,
) -> Result<Value, Value> {
    let request = match method {
        "GET" => http.get(url),
        "DELETE" => http.delete(url),
        _ => http.post(url).json(&body.unwrap_or_else(|| json!({}))),
    };
    let reply = request.send().await.expect("chromedriver answers");
    let status = reply.status();
    let value: Value = reply.json().await.expect("JSON from chromedriver");
    if status.is_success() {
        Ok(value["value"].clone())
    } else {
        Err(value["value"].clone())
    }
}

/// One browser session.
pub struct Browser {
    http: reqwest::Client,
    base: String,
    pub downloads: PathBuf,
    session: String,
    open: Arc<Mutex<Vec<String>>>,
}

/// An element on the current page.
#[derive(Clone)]
pub struct Element(String);

impl Browser {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        call(&self.http, method, &format!("{}{path}", self.base), body).await
    }

    pub async fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url }))).await;
    }

    pub async fn url(&self) -> String {
        self.call("GET", "/url", None)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The elements matching `css` now (maybe none).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let found = self
            .call(
                "POST",
                "/elements",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        found
            .as_array()
            .unwrap()
            .iter()
            .map(|e| Element(e[ELEMENT].as_str().unwrap().to_string()))
            .collect()
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(element) = self.find_all(css).await.into_iter().next() {
                return element;
            }
            assert!(
                Instant::now() < deadline,
                "no {css} on {} after {WAIT:?}:\n{}",
                self.url().await,
                self.text("body").await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `actions` (path after the element, body) on the first element
    /// matching `css`, finding it again if the page replaced it meanwhile.
    async fn on_element(&self, css: &str, actions: &[(&str, Option<Value>)]) {
        for attempt in 0..3 {
            let element = self.find(css).await;
            let mut stale = false;
            for (action, body) in actions {
                let url = format!("{}/element/{}/{action}", self.base, element.0);
                match try_call(&self.http, "POST", &url, body.clone()).await {
                    Ok(_) => {}
                    Err(error) if error["error"] == "stale element reference" && attempt < 2 => {
                        stale = true;
                        break;
                    }
                    Err(error) => panic!("{action} on {css}: {error}"),
                }
            }
            if !stale {
                return;
            }
        }
    }

    /// Replaces the content of the field `css` with `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        self.on_element(
            css,
            &[("clear", None), ("value", Some(json!({ "text": text })))],
        )
        .await;
    }

    /// Clicks `css` where the click does not leave the page.
    pub async fn click(&self, css: &str) {
        self.on_element(css, &[("click", None)]).await;
    }

    /// Clicks `css` (a submit button, a link) and waits until the browser
    /// shows the next page: the current document is marked first, so an
    /// element of the page being left is never mistaken for the new one's.
    pub async fn click_and_load(&self, css: &str) {
        self.script("window.__leaving = true;", vec![]).await;
        self.click(css).await;
        self.wait_until(
            &format!("the page after clicking {css}"),
            "return !window.__leaving && document.readyState === 'complete';",
        )
        .await;
    }

    pub async fn click_element(&self, element: &Element) {
        self.call("POST", &format!("/element/{}/click", element.0), None)
            .await;
    }

    /// The visible text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        match self.find_all(css).await.into_iter().next() {
            Some(element) => self
                .call("GET", &format!("/element/{}/text", element.0), None)
                .await
                .as_str()
                .unwrap_or_default()
                .to_string(),
            None => String::new(),
        }
    }

    /// Runs `script` (a function body; `arguments` holds `args`).
    pub async fn script(&self, script: &str, args: Vec<Value>) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Runs `script` asynchronously: it ends by calling the last of its
    /// `arguments` with the result (e.g. after a `fetch`).
    pub async fn script_async(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/async",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Waits until `script` returns something truthy; returns it.
    pub async fn wait_until(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let value = self.script(script, vec![]).await;
            let truthy = match &value {
                Value::Null | Value::Bool(false) => false,
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not within {WAIT:?} on {}:\n{}",
                self.url().await,
                self.text("body").await
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Makes the page's viewport `width`×`height` CSS pixels at scale 1
    /// (through Chromium's device emulation, so the width is exact), as a
    /// phone when `mobile`.
    pub async fn viewport(&self, width: u32, height: u32, mobile: bool) {
        self.call(
            "POST",
            "/goog/cdp/execute",
            Some(json!({
                "cmd": "Emulation.setDeviceMetricsOverride",
                "params": {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
            })),
        )
        .await;
    }

    /// A PNG of the whole page at `width` CSS pixels (the viewport is
    /// stretched to the page's height, up to 6,000 px, for the shot).
    pub async fn page_png(&self, path: &Path, width: u32, mobile: bool) {
        let height = self
            .script("return document.documentElement.scrollHeight", vec![])
            .await
            .as_u64()
            .unwrap_or(900)
            .clamp(300, 6_000) as u32;
        self.viewport(width, height, mobile).await;
        self.screenshot(path).await;
    }

    /// A PNG of the whole window.
    pub async fn screenshot(&self, path: &Path) {
        let shot = self.call("GET", "/screenshot", None).await;
        std::fs::write(path, decode_base64(shot.as_str().unwrap())).unwrap();
    }

    /// A PNG of one element.
    pub async fn element_png(&self, css: &str) -> Vec<u8> {
        let element = self.find(css).await;
        let shot = self
            .call("GET", &format!("/element/{}/screenshot", element.0), None)
            .await;
        decode_base64(shot.as_str().unwrap())
    }

    /// Console messages since the last call, as (level, message).
    pub async fn console(&self) -> Vec<(String, String)> {
        let log = self
            .call("POST", "/se/log", Some(json!({ "type": "browser" })))
            .await;
        log.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| {
                        (
                            e["level"].as_str().unwrap_or_default().to_string(),
                            e["message"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn quit(self) {
        self.call("DELETE", "", None).await;
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|open| *open != self.session);
    }
}

/// Standard base64 (what WebDriver screenshots are).
fn decode_base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0;
    for byte in text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
    {
        let value = ALPHABET
            .iter()
            .position(|c| *c == byte)
            .expect("base64 character") as u32;
        buffer = (buffer << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// A Y4M video (what Chromium's fake camera plays) of the PNG image
/// `png`, centred on a white 640×480 frame and scaled to fit 400×400.
pub fn y4m_of_png(png_bytes: &[u8]) -> Vec<u8> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let channels = info.color_type.samples();
    let (width, height) = (info.width as usize, info.height as usize);
    let luma = |x: usize, y: usize| -> u8 {
        let at = (y * width + x) * channels;
        if channels >= 3 {
            let (r, g, b) = (
                pixels[at] as u32,
                pixels[at + 1] as u32,
                pixels[at + 2] as u32,
            );
            ((r * 299 + g * 587 + b * 114) / 1000) as u8
        } else {
            pixels[at]
        }
    };
    const W: usize = 640;
    const H: usize = 480;
    const FIT: usize = 400;
    let scale = FIT as f64 / width.max(height) as f64;
    let (shown_w, shown_h) = (
        (width as f64 * scale) as usize,
        (height as f64 * scale) as usize,
    );
    let (left, top) = ((W - shown_w) / 2, (H - shown_h) / 2);
    let mut frame = vec![255u8; W * H];
    for y in 0..shown_h {
        for x in 0..shown_w {
            let source = luma(
                ((x as f64 / scale) as usize).min(width - 1),
                ((y as f64 / scale) as usize).min(height - 1),
            );
            frame[(top + y) * W + left + x] = source;
        }
    }
    let mut video = format!("YUV4MPEG2 W{W} H{H} F10:1 Ip A1:1 C420jpeg\n").into_bytes();
    for _ in 0..5 {
        video.extend_from_slice(b"FRAME\n");
        video.extend_from_slice(&frame);
        video.extend(std::iter::repeat_n(128u8, W * H / 2));
    }
    video
}

#[test]
fn base64_decodes_as_standard_base64() {
    assert_eq!(decode_base64("aGVsbG8="), b"hello");
    assert_eq!(decode_base64("aGk="), b"hi");
    assert_eq!(decode_base64("YWJj"), b"abc");
}
