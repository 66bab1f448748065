//! Tests of the pre-rendered site: the router without a socket, and the
//! static files.

use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use tower::ServiceExt as _;

use super::{SharedSite, Site, router};
use crate::render::fixture::{OPEN_ID, RESOLVED_ID, snapshot};

/// The fixture's site, shared.
fn shared() -> SharedSite {
    Arc::new(ArcSwap::from_pointee(Site::build(&snapshot())))
}

/// Sends one request through the router.
async fn send(
    site: &SharedSite,
    method: &str,
    path: &str,
    if_none_match: Option<&str>,
) -> Response {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(tag) = if_none_match {
        request = request.header(header::IF_NONE_MATCH, tag);
    }
    let request = request.body(Body::empty()).expect("request");
    router(Arc::clone(site))
        .oneshot(request)
        .await
        .expect("infallible")
}

/// A response header as text.
fn header_of(response: &Response, name: header::HeaderName) -> &str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// A response's body as text.
async fn body_text(response: Response) -> String {
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

#[tokio::test]
async fn web_serves_pages() {
    let site = shared();
    let response = send(&site, "GET", "/", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header_of(&response, header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    assert_eq!(
        header_of(&response, header::CACHE_CONTROL),
        "public, max-age=10"
    );
    assert_eq!(
        header_of(&response, header::X_CONTENT_TYPE_OPTIONS),
        "nosniff"
    );
    assert_eq!(header_of(&response, header::REFERRER_POLICY), "no-referrer");
    assert!(
        header_of(&response, header::CONTENT_SECURITY_POLICY)
            .starts_with("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:")
    );
    let etag = header_of(&response, header::ETAG).to_owned();
    assert_eq!(etag.len(), 34, "{etag}");
    assert!(etag.starts_with('"') && etag.ends_with('"'));
    let length: usize = header_of(&response, header::CONTENT_LENGTH)
        .parse()
        .expect("length");
    let body = body_text(response).await;
    assert_eq!(body.len(), length);
    assert!(body.contains("Partial System Outage"));

    // A matching If-None-Match (also in a list, also weak) gets 304.
    for tag in [etag.clone(), format!("\"x\", W/{etag}"), "*".to_owned()] {
        let response = send(&site, "GET", "/", Some(&tag)).await;
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{tag}");
        assert_eq!(header_of(&response, header::ETAG), etag);
        assert!(body_text(response).await.is_empty());
    }
    let response = send(&site, "GET", "/", Some("\"stale\"")).await;
    assert_eq!(response.status(), StatusCode::OK);

    // HEAD: same headers, no body.
    let response = send(&site, "HEAD", "/", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header_of(&response, header::ETAG), etag);
    assert_eq!(
        header_of(&response, header::CONTENT_LENGTH),
        length.to_string()
    );
    assert!(body_text(response).await.is_empty());

    // Incident pages, the history (also with a trailing slash), feeds, JSON.
    for (path, content_type) in [
        (format!("/incidents/{OPEN_ID}"), "text/html; charset=utf-8"),
        (
            format!("/incidents/{RESOLVED_ID}/"),
            "text/html; charset=utf-8",
        ),
        ("/history".to_owned(), "text/html; charset=utf-8"),
        ("/history/".to_owned(), "text/html; charset=utf-8"),
        ("/history.atom".to_owned(), "application/atom+xml"),
        ("/api/v2/summary.json".to_owned(), "application/json"),
        ("/api/v2/status.json".to_owned(), "application/json"),
        ("/api/v2/components.json".to_owned(), "application/json"),
        ("/api/v2/incidents.json".to_owned(), "application/json"),
        (
            "/api/v2/incidents/unresolved.json".to_owned(),
            "application/json",
        ),
        (
            "/api/v2/scheduled-maintenances.json".to_owned(),
            "application/json",
        ),
        (
            "/api/v2/scheduled-maintenances/upcoming.json".to_owned(),
            "application/json",
        ),
        (
            "/api/v2/scheduled-maintenances/active.json".to_owned(),
            "application/json",
        ),
    ] {
        let response = send(&site, "GET", &path, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header_of(&response, header::CONTENT_TYPE),
            content_type,
            "{path}"
        );
    }
    let response = send(&site, "GET", "/api/v2/status.json", None).await;
    assert_eq!(
        header_of(&response, header::ACCESS_CONTROL_ALLOW_ORIGIN),
        "*"
    );
    let status: serde_json::Value = serde_json::from_str(&body_text(response).await).expect("json");
    assert_eq!(status["status"]["indicator"], "major");
}

#[tokio::test]
async fn web_refuses_the_rest() {
    let site = shared();
    for path in [
        "/nope",
        "/incidents/unknown000000",
        "/incidents/../history",
        "/index.html",
    ] {
        let response = send(&site, "GET", path, None).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            header_of(&response, header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        assert!(response.headers().get(header::ETAG).is_none());
        assert!(body_text(response).await.contains("Page not found"));
    }
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let response = send(&site, method, "/", None).await;
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
        assert_eq!(header_of(&response, header::ALLOW), "GET, HEAD");
    }
}

#[tokio::test]
async fn web_serves_the_swapped_site() {
    let site = shared();
    let before = send(&site, "GET", "/", None).await;
    let old_etag = header_of(&before, header::ETAG).to_owned();
    let mut calmer = snapshot();
    calmer.indicator = crate::model::Indicator::None;
    calmer.open_incidents.clear();
    site.store(Arc::new(Site::build(&calmer)));
    let response = send(&site, "GET", "/", Some(&old_etag)).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the old ETag no longer matches"
    );
    assert!(
        body_text(response)
            .await
            .contains("All Systems Operational")
    );
    let response = send(&site, "GET", &format!("/incidents/{OPEN_ID}"), None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[test]
fn web_site_is_deterministic_and_safe() {
    let site = Site::build(&snapshot());
    assert_eq!(
        Site::build(&snapshot()).get("/").map(|a| &a.etag),
        site.get("/").map(|a| &a.etag)
    );
    assert_eq!(site.paths().len(), 15);
    let mut evil = snapshot();
    evil.history[0].incident.public_id = "../../etc".to_owned();
    let site = Site::build(&evil);
    assert_eq!(site.paths().len(), 14);
    assert!(site.paths().iter().all(|p| !p.contains("..")));
}

#[test]
fn web_writes_static_files() {
    let dir = std::env::temp_dir().join(format!("candor-status-web-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let site = Site::build(&snapshot());
    site.write_to(&dir).expect("write");
    for (file, path) in [
        ("index.html", "/"),
        ("history/index.html", "/history"),
        ("history.atom", "/history.atom"),
        ("api/v2/summary.json", "/api/v2/summary.json"),
        (
            "api/v2/incidents/unresolved.json",
            "/api/v2/incidents/unresolved.json",
        ),
        (
            "api/v2/scheduled-maintenances/upcoming.json",
            "/api/v2/scheduled-maintenances/upcoming.json",
        ),
    ] {
        let written = std::fs::read(dir.join(file)).expect(file);
        assert_eq!(
            Some(&written[..]),
            site.get(path).map(|a| &a.body[..]),
            "{file}"
        );
    }
    let incident = std::fs::read_to_string(dir.join("incidents").join(OPEN_ID).join("index.html"))
        .expect("incident page");
    assert!(incident.contains("ns2.candor.test (Frankfurt) not answering"));
    assert!(
        std::fs::read_to_string(dir.join("404.html"))
            .expect("404")
            .contains("Page not found")
    );

    // A second write with a changed page replaces it and leaves no temporary files.
    let mut calmer = snapshot();
    calmer.indicator = crate::model::Indicator::None;
    Site::build(&calmer).write_to(&dir).expect("rewrite");
    let index = std::fs::read_to_string(dir.join("index.html")).expect("index");
    assert!(index.contains("All Systems Operational"));
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    std::fs::remove_dir_all(&dir).expect("clean up");
}

/// The forms' world: a database, the site and the router with the forms.
struct Forms {
    db: Arc<std::sync::Mutex<crate::db::StatusDb>>,
    router: axum::Router,
    component: i64,
}

fn forms() -> Forms {
    use crate::db::{ComponentSpec, StatusDb};
    let mut db = StatusDb::open_memory().unwrap();
    db.set_page("Example status", "https://status.example.net")
        .unwrap();
    let component = db
        .sync_components(
            &[ComponentSpec {
                key: "ns:192.0.2.1:53".into(),
                name: "ns1".into(),
                location: None,
                description: None,
                kind: crate::model::ComponentKind::NameServer,
            }],
            1,
        )
        .unwrap()[0]
        .id;
    let site: SharedSite = Arc::new(ArcSwap::from_pointee(Site::build(
        &db.snapshot(crate::db::now()).unwrap(),
    )));
    let db = Arc::new(std::sync::Mutex::new(db));
    let subscriptions = super::Subscriptions::new(
        db.clone(),
        Arc::new(|| {}),
        Arc::new(|url: &str| {
            if url.contains("10.0.0.") {
                Err("10.0.0.1 is not a public address".to_owned())
            } else {
                Ok(())
            }
        }),
    );
    Forms {
        router: super::router_with(site, Some(Arc::new(subscriptions))),
        db,
        component,
    }
}

impl Forms {
    /// Sends a request from `client` with a form body.
    async fn send(&self, method: &str, path: &str, form: &str, client: [u8; 4]) -> Response {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .expect("request");
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                client, 40_000,
            ))));
        self.router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible")
    }

    fn db(&self) -> std::sync::MutexGuard<'_, crate::db::StatusDb> {
        self.db.lock().unwrap()
    }

    /// Opens an incident; the deliveries it queued.
    fn incident(&self) -> usize {
        use crate::db::NewIncident;
        use crate::model::{ComponentStatus, IncidentStatus, UpdateSource};
        self.db()
            .create_incident(
                &NewIncident {
                    name: "ns1 down".into(),
                    status: IncidentStatus::Investigating,
                    impact: None,
                    automatic: false,
                    started_at: None,
                    scheduled_for: None,
                    scheduled_until: None,
                    components: vec![(self.component, ComponentStatus::MajorOutage)],
                    zones: vec![],
                    body: "Looking.".into(),
                    source: UpdateSource::Operator("ops".into()),
                },
                crate::db::now(),
            )
            .unwrap()
            .queued
    }
}

#[tokio::test]
async fn the_public_form_subscribes_with_double_opt_in_and_one_click_unsubscribe() {
    let f = forms();
    const A: [u8; 4] = [192, 0, 2, 10];
    // The page: forms without JavaScript, allowed by the CSP.
    let response = f.send("GET", "/subscribe", "", A).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header_of(&response, header::CONTENT_SECURITY_POLICY).contains("form-action 'self'"));
    let page = body_text(response).await;
    assert!(
        page.contains(r#"<form method="post" action="/subscribe">"#),
        "{page}"
    );
    assert!(page.contains(r#"name="webhook_url""#) && page.contains("/history.atom"));
    assert!(!page.contains("<script"));

    // An address: a confirmation request, and nothing else.
    let response = f
        .send("POST", "/subscribe", "email=reader%40example.com", A)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body_text(response).await.contains("Check your inbox"));
    let messages = f.db().pending_messages(0, 10).unwrap();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.address.as_deref(), Some("reader@example.com"));
    let s = f.db().subscriber(m.subscriber_id.unwrap()).unwrap();
    assert!(s.public && s.confirmed_at.is_none());
    let link = format!(
        "https://status.example.net/subscribe/confirm?token={}",
        s.token
    );
    assert!(m.body.contains(&link), "{}", m.body);
    assert_eq!(f.incident(), 0, "unconfirmed: told nothing");

    // The link shows a button; only posting it confirms.
    let confirm = format!("/subscribe/confirm?token={}", s.token);
    let response = f.send("GET", &confirm, "", A).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = body_text(response).await;
    assert!(page.contains(&format!(r#"value="{}""#, s.token)), "{page}");
    assert!(f.db().subscriber(s.id).unwrap().confirmed_at.is_none());
    let response = f
        .send(
            "POST",
            "/subscribe/confirm",
            &format!("token={}", s.token),
            A,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body_text(response).await.contains("Subscribed"));
    assert!(f.db().subscriber(s.id).unwrap().confirmed_at.is_some());
    assert_eq!(f.incident(), 1, "confirmed: told");

    // Again: the same answer, nothing sent (it does not tell it is known).
    let response = f
        .send("POST", "/subscribe", "email=Reader%40example.com", A)
        .await;
    assert!(body_text(response).await.contains("Check your inbox"));
    assert_eq!(f.db().pending_messages(0, 10).unwrap().len(), 1);

    // One-click unsubscribe (RFC 8058), then the link is spent.
    let unsubscribe = format!("/unsubscribe?token={}", s.token);
    let response = f.send("GET", &unsubscribe, "", A).await;
    assert!(body_text(response).await.contains("Stop sending updates"));
    let response = f
        .send("POST", &unsubscribe, "List-Unsubscribe=One-Click", A)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body_text(response).await.contains("Unsubscribed"));
    assert_eq!(f.incident(), 0);
    let response = f
        .send("POST", &unsubscribe, "List-Unsubscribe=One-Click", A)
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_public_form_is_rate_limited_per_address_and_client() {
    let f = forms();
    const A: [u8; 4] = [192, 0, 2, 10];
    const B: [u8; 4] = [198, 51, 100, 7];
    // One address: three confirmation requests a day, whoever asks.
    for (i, client) in [A, B, A, B, A].into_iter().enumerate() {
        let response = f
            .send("POST", "/subscribe", "email=victim%40example.com", client)
            .await;
        assert_eq!(response.status(), StatusCode::OK, "request {i}");
    }
    assert_eq!(f.db().pending_messages(0, 10).unwrap().len(), 3);
    // One client: ten forms an hour.
    let mut posted = 3;
    loop {
        let response = f
            .send(
                "POST",
                "/subscribe",
                &format!("email=r{posted}%40example.com"),
                A,
            )
            .await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(!header_of(&response, header::RETRY_AFTER).is_empty());
            break;
        }
        posted += 1;
        assert!(posted <= 10, "no limit");
    }
    assert_eq!(posted, 10);
    let response = f
        .send("POST", "/subscribe", "email=other%40example.com", B)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "other clients are not affected"
    );
}

#[tokio::test]
async fn the_public_form_subscribes_webhooks_and_refuses_private_ones() {
    let f = forms();
    const A: [u8; 4] = [192, 0, 2, 10];
    let response = f
        .send(
            "POST",
            "/subscribe",
            "webhook_url=https%3A%2F%2Fhooks.example.net%2Fstatus",
            A,
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let page = body_text(response).await;
    assert!(page.contains("Signing secret (shown only now"), "{page}");
    assert_eq!(f.incident(), 1);
    let response = f
        .send(
            "POST",
            "/subscribe",
            "webhook_url=http%3A%2F%2F10.0.0.1%2F",
            A,
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = f.send("POST", "/subscribe", "", A).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Without the forms, posting is not allowed.
    let response = send(&shared(), "POST", "/subscribe", None).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}
