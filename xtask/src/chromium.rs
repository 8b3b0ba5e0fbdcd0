//! Headless Chromium driven over the DevTools protocol, for the report's browser test and
//! its bench: open a file, evaluate script, click at a point, list every request the page
//! made and every error it logged, take a screenshot.
//!
//! Debian's `chromium` only (`MESHSMITH_CHROMIUM`, else `chromium` on PATH), started with a
//! fresh profile in a temporary folder and its debugging port on 127.0.0.1, told not to talk
//! to any service of its own. [`Chromium::for_test`] skips loudly when there is none, and
//! fails instead with `MESHSMITH_REQUIRE_CHROMIUM=1`.

use anyhow::{anyhow, bail, Context};
use serde_json::{json, Value};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

/// How long one protocol call, or a page load, may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest message taken from the browser (a full-page screenshot of a large report).
const MAX_MESSAGE: usize = 512 << 20;

/// The browser binary: `MESHSMITH_CHROMIUM`, else `chromium` on PATH.
pub fn locate() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("MESHSMITH_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
}

/// A running headless Chromium with one page.
pub struct Chromium {
    child: Child,
    profile: PathBuf,
    ws: WebSocket<TcpStream>,
    session: String,
    next_id: u64,
    /// Every event of the page since it was opened, in order.
    events: Vec<Value>,
}

impl Chromium {
    /// The browser for test `test`, or `None` after saying loudly why not; with
    /// `MESHSMITH_REQUIRE_CHROMIUM=1`, a panic instead.
    pub fn for_test(test: &str) -> Option<Chromium> {
        let required = std::env::var("MESHSMITH_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1");
        let started = locate()
            .ok_or_else(|| {
                anyhow!("no chromium (set MESHSMITH_CHROMIUM, or apt-get install chromium)")
            })
            .and_then(|binary| Chromium::launch(&binary));
        match started {
            Ok(browser) => Some(browser),
            Err(e) if required => panic!("{test}: MESHSMITH_REQUIRE_CHROMIUM=1 but {e:#}"),
            Err(e) => {
                eprintln!("\n*** SKIPPED: {test}: {e:#} ***\n");
                None
            }
        }
    }

    /// Starts `binary` headless with a fresh profile and attaches to a blank page.
    pub fn launch(binary: &Path) -> anyhow::Result<Chromium> {
        let profile = fresh_profile()?;
        let child = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-extensions",
                "--disable-default-apps",
                "--mute-audio",
                "--hide-scrollbars",
                "--window-size=1440,1000",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()));
        let child = match child {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&profile);
                return Err(e);
            }
        };
        let mut partial = Partial {
            child: Some(child),
            profile: Some(profile.clone()),
        };
        let (port, path) = debugger_address(&profile, partial.child.as_mut())?;
        let stream = TcpStream::connect(("127.0.0.1", port)).context("connecting to Chromium")?;
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        let url = format!("ws://127.0.0.1:{port}{path}");
        let (ws, _) = tungstenite::client::client_with_config(url.as_str(), stream, Some(config))
            .map_err(|e| anyhow!("opening Chromium's debugging connection: {e}"))?;
        // Reads wait a little at a time, so a silent browser cannot hang a call forever.
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(200)))?;
        let mut browser = Chromium {
            child: partial
                .child
                .take()
                .ok_or_else(|| anyhow!("lost the child"))?,
            profile: partial.profile.take().unwrap_or_default(),
            ws,
            session: String::new(),
            next_id: 0,
            events: Vec::new(),
        };
        let target = browser.call("Target.createTarget", json!({"url": "about:blank"}))?;
        let target = target["targetId"].as_str().unwrap_or_default().to_string();
        let attached = browser.call(
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        )?;
        browser.session = attached["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no session: {attached}"))?
            .to_string();
        for domain in [
            "Page.enable",
            "Network.enable",
            "Runtime.enable",
            "Log.enable",
        ] {
            browser.call(domain, json!({}))?;
        }
        Ok(browser)
    }

    /// Calls `method` (on the page once attached); the result, or the protocol's error.
    pub fn call(&mut self, method: &str, params: Value) -> anyhow::Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            message["sessionId"] = Value::String(self.session.clone());
        }
        self.ws
            .send(Message::text(message.to_string()))
            .with_context(|| format!("sending {method}"))?;
        let deadline = Instant::now() + CALL_TIMEOUT;
        loop {
            let Some(reply) = self.next_message(deadline, method)? else {
                continue;
            };
            if reply["id"].as_u64() == Some(id) {
                if let Some(error) = reply.get("error") {
                    bail!("{method}: {error}");
                }
                return Ok(reply["result"].clone());
            }
            if reply.get("method").is_some() {
                self.events.push(reply);
            }
        }
    }

    /// One message, or `None` when none came within the read timeout.
    fn next_message(
        &mut self,
        deadline: Instant,
        waiting_for: &str,
    ) -> anyhow::Result<Option<Value>> {
        if Instant::now() > deadline {
            bail!("Chromium did not answer {waiting_for} within {CALL_TIMEOUT:?}");
        }
        match self.ws.read() {
            Ok(Message::Text(text)) => Ok(serde_json::from_str(text.as_str()).ok()),
            Ok(_) => Ok(None),
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e).context("reading from Chromium"),
        }
    }

    /// Opens `url` and waits for its load event.
    pub fn open(&mut self, url: &str) -> anyhow::Result<()> {
        self.events.clear();
        self.call("Page.navigate", json!({"url": url}))?;
        let deadline = Instant::now() + CALL_TIMEOUT;
        let mut from = 0;
        loop {
            if self.events[from..]
                .iter()
                .any(|e| e["method"] == "Page.loadEventFired")
            {
                return Ok(());
            }
            from = self.events.len();
            if let Some(message) = self.next_message(deadline, "Page.loadEventFired")? {
                if message.get("method").is_some() {
                    self.events.push(message);
                }
            }
        }
    }

    /// The value of a script expression (a promise is awaited).
    pub fn eval(&mut self, expression: &str) -> anyhow::Result<Value> {
        let out = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        )?;
        if let Some(e) = out.get("exceptionDetails") {
            bail!("script failed: {e}");
        }
        Ok(out["result"]["value"].clone())
    }

    /// A left click at a point of the viewport, as a mouse makes it.
    pub fn click(&mut self, x: f64, y: f64) -> anyhow::Result<()> {
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            )?;
        }
        Ok(())
    }

    /// Scrolls the first element matching `selector` into view and clicks its middle.
    pub fn click_on(&mut self, selector: &str) -> anyhow::Result<()> {
        let script = format!(
            "(() => {{ const el = document.querySelector({}); if (!el) return null; \
             el.scrollIntoView({{block: 'center', inline: 'center'}}); const r = el.getBoundingClientRect(); \
             return [r.left + r.width / 2, r.top + r.height / 2]; }})()",
            Value::String(selector.to_string())
        );
        let at = self.eval(&script)?;
        let (Some(x), Some(y)) = (at[0].as_f64(), at[1].as_f64()) else {
            bail!("nothing to click: {selector}");
        };
        self.click(x, y)
    }

    /// Every URL the page requested since it was opened.
    pub fn requests(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e["method"] == "Network.requestWillBeSent")
            .filter_map(|e| e["params"]["request"]["url"].as_str().map(str::to_string))
            .collect()
    }

    /// Script exceptions, console errors and the browser's error log entries (a blocked
    /// load, a refused script) since the page was opened.
    pub fn errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e["method"].as_str() {
                Some("Runtime.exceptionThrown") => {
                    Some(e["params"]["exceptionDetails"].to_string())
                }
                Some("Runtime.consoleAPICalled") if e["params"]["type"] == "error" => {
                    Some(e["params"]["args"].to_string())
                }
                Some("Log.entryAdded") if e["params"]["entry"]["level"] == "error" => {
                    Some(e["params"]["entry"]["text"].to_string())
                }
                _ => None,
            })
            .collect()
    }

    /// A PNG of the viewport (`full`: of the whole page).
    pub fn screenshot(&mut self, path: &Path, full: bool) -> anyhow::Result<()> {
        let shot = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": full}),
        )?;
        let bytes = base64_decode(shot["data"].as_str().unwrap_or_default())
            .ok_or_else(|| anyhow!("the screenshot is not base64"))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
    }
}

impl Drop for Chromium {
    /// Asks the browser to close (so its helper processes stop writing into the profile),
    /// kills it if it has not within a few seconds, then removes the profile.
    fn drop(&mut self) {
        let close = json!({"id": 0, "method": "Browser.close"});
        let _ = self.ws.send(Message::text(close.to_string()));
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        for _ in 0..20 {
            if std::fs::remove_dir_all(&self.profile).is_ok() || !self.profile.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// What is cleaned up if starting fails half-way.
struct Partial {
    child: Option<Child>,
    profile: Option<PathBuf>,
}

impl Drop for Partial {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(p) = self.profile.take() {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

/// A new empty folder for the browser's profile.
fn fresh_profile() -> anyhow::Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    for attempt in 0..100u32 {
        let dir = std::env::temp_dir().join(format!(
            "meshsmith-chromium-{}-{nanos}-{attempt}",
            std::process::id()
        ));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).context("creating a profile folder for Chromium"),
        }
    }
    bail!("no free profile folder name for Chromium")
}

/// The browser's debugging port and path, from the `DevToolsActivePort` file it writes into
/// its profile once it listens.
fn debugger_address(profile: &Path, child: Option<&mut Child>) -> anyhow::Result<(u16, String)> {
    let file = profile.join("DevToolsActivePort");
    let deadline = Instant::now() + CALL_TIMEOUT;
    let mut child = child;
    loop {
        if let Ok(text) = std::fs::read_to_string(&file) {
            let mut lines = text.lines();
            if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                if let Ok(port) = port.trim().parse() {
                    return Ok((port, path.trim().to_string()));
                }
            }
        }
        if let Some(c) = child.as_deref_mut() {
            if let Some(status) = c.try_wait()? {
                bail!("Chromium exited before it listened ({status})");
            }
        }
        if Instant::now() > deadline {
            bail!("Chromium did not open its debugging port within {CALL_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    };
    let bytes: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for chunk in bytes.chunks(4) {
        let pad = chunk.iter().filter(|&&b| b == b'=').count();
        let mut n = 0u32;
        for (i, &b) in chunk.iter().enumerate() {
            let v = if b == b'=' { 0 } else { value(b)? };
            n |= v << (18 - 6 * i);
        }
        let take = chunk.len().saturating_sub(1).saturating_sub(pad);
        out.extend_from_slice(&n.to_be_bytes()[1..1 + take.min(3)]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::base64_decode;

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(base64_decode("Zm9vYmFy").as_deref(), Some(&b"foobar"[..]));
        assert_eq!(base64_decode("Zm8=").as_deref(), Some(&b"fo"[..]));
        assert_eq!(base64_decode("Zg==").as_deref(), Some(&b"f"[..]));
        assert_eq!(base64_decode("Z!=="), None);
    }
}
