//! A headless Chromium driven through chromedriver, with the few steps a
//! test takes (fill, click, expect text) and evidence on failure: a
//! screenshot and the page source under `test-output/`.

use fantoccini::{Client, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use testkit::smtp_sink::SmtpSink;
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "chromedriver";
/// Generous: the wait ends as soon as the page is there, and a loaded 2-core
/// machine (other tests, builds) can take seconds to answer.
const WAIT: Duration = Duration::from_secs(30);

/// Where screenshots and failure evidence go (git-ignored).
pub fn output_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test-output");
    std::fs::create_dir_all(&dir).expect("create test-output/");
    dir
}

#[derive(Clone)]
pub struct Browser {
    client: Client,
    driver: Arc<Mutex<Option<Child>>>,
    _profile: Arc<tempfile::TempDir>,
    /// Where Chromium saves downloads (A2's CSV files).
    downloads: Arc<tempfile::TempDir>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// Starts chromedriver and a fresh headless Chromium. Fails the test,
    /// with what to install, if either is missing.
    pub async fn start() -> Self {
        assert!(
            std::path::Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: the browser tests need Debian's chromium and chromium-driver (`bash scripts/test.sh` installs them; or apt-get install -y chromium chromium-driver)"
        );
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {CHROMEDRIVER} ({e}): install Debian's chromium-driver (`bash scripts/test.sh` does)")
            });
        let webdriver = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromedriver did not listen on port {port} within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().expect("a Chromium profile directory");
        let args = vec![
            "--headless".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--window-size=1400,1000".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let downloads = tempfile::tempdir().expect("a download directory");
        let prefs = serde_json::json!({
            "download.default_directory": downloads.path().display().to_string(),
            "download.prompt_for_download": false,
        });
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "chrome".into());
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({"binary": CHROMIUM, "args": args, "prefs": prefs}),
        );
        let downloads = Arc::new(downloads);
        let mut last_error = String::new();
        // Chromium's first start on a cold machine can be slow; try twice.
        for _ in 0..2 {
            match Client::with_capabilities_and_connector(&webdriver, &caps, HttpConnector::new()).await {
                Ok(client) => {
                    return Browser {
                        client,
                        driver: Arc::new(Mutex::new(Some(driver))),
                        _profile: Arc::new(profile),
                        downloads,
                    }
                }
                Err(e) => last_error = e.to_string(),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        panic!("headless Chromium did not start through chromedriver: {last_error}");
    }

    /// Ends the browser and chromedriver, then lets a failed scenario fail
    /// the test with its own message.
    pub async fn finish(self, outcome: Result<(), tokio::task::JoinError>) {
        if outcome.is_err() {
            self.evidence("failure").await;
        }
        let _ = self.client.clone().close().await;
        if let Some(mut d) = self.driver.lock().await.take() {
            let _ = d.kill().await;
        }
        if let Err(e) = outcome {
            match e.try_into_panic() {
                Ok(p) => std::panic::resume_unwind(p),
                Err(e) => panic!("the scenario did not finish: {e}"),
            }
        }
    }

    async fn evidence(&self, name: &str) {
        let dir = output_dir();
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(dir.join(format!("{name}.png")), png);
        }
        if let Ok(html) = self.client.source().await {
            let _ = std::fs::write(dir.join(format!("{name}.html")), html);
        }
    }

    /// Saves the page as `test-output/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(output_dir().join(format!("{name}.png")), png).expect("write the screenshot");
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    pub async fn url(&self) -> String {
        self.client.current_url().await.map(|u| u.to_string()).unwrap_or_default()
    }

    pub async fn path(&self) -> String {
        self.client.current_url().await.map(|u| u.path().to_owned()).unwrap_or_default()
    }

    pub async fn expect_path(&self, path: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let now = self.path().await;
            if now == path {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "expected to be on {path}, but the browser is on {now}; page text:\n{}",
                    self.body_text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn body_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(b) => b.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    pub async fn expect_text(&self, needle: &str) {
        self.expect_text_in("body", needle).await;
    }

    /// Waits until the element matching `css` contains `needle`.
    pub async fn expect_text_in(&self, css: &str, needle: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let mut seen = Vec::new();
            if let Ok(found) = self.client.find_all(Locator::Css(css)).await {
                for el in found {
                    let t = el.text().await.unwrap_or_default();
                    if t.contains(needle) {
                        return;
                    }
                    seen.push(t);
                }
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "expected '{needle}' in {css} on {}; found {seen:?}; page text:\n{}",
                    self.path().await,
                    self.body_text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for el in self.client.find_all(Locator::Css(css)).await.unwrap_or_default() {
            out.push(el.text().await.unwrap_or_default());
        }
        out
    }

    pub async fn count(&self, css: &str) -> usize {
        self.client.find_all(Locator::Css(css)).await.map(|v| v.len()).unwrap_or(0)
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self.client.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
            Ok(el) => el,
            Err(e) => panic!(
                "no element {css} on {} ({e}); page text:\n{}",
                self.path().await,
                self.body_text().await
            ),
        }
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        el.clear().await.expect("clear the field");
        el.send_keys(text).await.expect("type into the field");
    }

    /// Chooses `path` in the file input matching `css`, as a person would.
    pub async fn choose_file(&self, css: &str, path: &std::path::Path) {
        let el = self.find(css).await;
        el.send_keys(&path.display().to_string()).await.expect("choose the file");
    }

    /// Waits until Chromium has saved the download `name`, and reads it.
    pub async fn downloaded(&self, name: &str) -> String {
        let path = self.downloads.path().join(name);
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            // Chromium writes `name.crdownload`, then renames it when done.
            if let Ok(text) = std::fs::read_to_string(&path) {
                let _ = std::fs::remove_file(&path);
                return text;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no download {name}; the directory holds {:?}",
                std::fs::read_dir(self.downloads.path()).map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn value(&self, css: &str) -> String {
        self.find(css).await.prop("value").await.ok().flatten().unwrap_or_default()
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub async fn click_link(&self, text: &str) {
        let el = match self.client.wait().at_most(WAIT).for_element(Locator::LinkText(text)).await {
            Ok(el) => el,
            Err(e) => panic!("no link '{text}' on {} ({e})", self.path().await),
        };
        el.click().await.unwrap_or_else(|e| panic!("click the link '{text}': {e}"));
    }

    /// Clicks the visible button whose text is `text`.
    pub async fn click_button(&self, text: &str) {
        let xpath = format!("//button[normalize-space(.)='{text}']");
        let el = match self.client.wait().at_most(WAIT).for_element(Locator::XPath(&xpath)).await {
            Ok(el) => el,
            Err(e) => panic!(
                "no button '{text}' on {} ({e}); page text:\n{}",
                self.path().await,
                self.body_text().await
            ),
        };
        el.click().await.unwrap_or_else(|e| panic!("click the button '{text}': {e}"));
    }

    pub async fn is_checked(&self, css: &str) -> bool {
        self.find(css).await.is_selected().await.expect("checkbox state")
    }

    pub async fn set_checkbox(&self, css: &str, on: bool) {
        if self.is_checked(css).await != on {
            self.click(css).await;
        }
        assert_eq!(
            self.is_checked(css).await,
            on,
            "{css} should be {}",
            if on { "ticked" } else { "cleared" }
        );
    }

    pub async fn select(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("choose '{value}' in {css}: {e}"));
    }

    /// Opens `path` and returns the value of the option of `select_css`
    /// whose label contains `label`.
    pub async fn option_value_containing(&self, path: &str, select_css: &str, label: &str) -> String {
        let url = self.client.current_url().await.expect("current url");
        let target = url.join(path).expect("a path on the same site");
        self.goto(target.as_str()).await;
        for opt in self
            .client
            .find_all(Locator::Css(&format!("{select_css} option")))
            .await
            .unwrap_or_default()
        {
            if opt.text().await.unwrap_or_default().contains(label) {
                return opt.attr("value").await.ok().flatten().unwrap_or_default();
            }
        }
        panic!("no option with '{label}' in {select_css} on {path}");
    }
}

/// Waits for the email to `to` and returns the sign-in link in it.
pub async fn wait_for_link(sink: &SmtpSink, to: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        for m in sink.messages() {
            if m.rcpt_to.iter().any(|r| r.contains(to)) {
                let parsed = mail_parser::MessageParser::default()
                    .parse(m.data.as_bytes())
                    .expect("a parsable email");
                let text = parsed.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
                let start = text.find("http").unwrap_or_else(|| panic!("no link in the email to {to}:\n{text}"));
                let link: String = text[start..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '"')
                    .collect();
                assert!(
                    link.contains("/set-password?token="),
                    "the email to {to} links to set-password: {link}"
                );
                return link;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no email to {to} arrived at the SMTP server within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
