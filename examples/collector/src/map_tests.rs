//! The live map's server side over real HTTP: the fleet read (`/v1/fleet`), the embedded map
//! libraries and the tile settings in the page.

use crate::live_tests::{READ_TOKEN, T0, TOKEN, json, post_fixes, raw_request, request};
use crate::{CollectorConfig, MapStyle, RunningCollector, start};

async fn collector_with(map_style: Option<MapStyle>) -> RunningCollector {
    start(CollectorConfig {
        read_token: Some(READ_TOKEN.into()),
        map_style,
        ..CollectorConfig::loopback(vec![TOKEN.into()])
    })
    .await
    .expect("collector starts")
}

#[tokio::test]
async fn fleet_answers_the_latest_fix_of_every_device_page_by_page() {
    let collector = collector_with(None).await;
    // Out of time order on purpose: the latest is the largest `t`, not the last stored.
    post_fixes(
        &collector,
        "car-b",
        1,
        &[(5_000, 47.1, 8.1), (1_000, 47.0, 8.0)],
    )
    .await;
    post_fixes(&collector, "car-a", 1, &[(2_000, 52.5, 13.4)]).await;
    post_fixes(
        &collector,
        "car-c",
        1,
        &[(3_000, 48.8, 2.3), (4_000, 48.9, 2.4)],
    )
    .await;

    let (status, body) = request(&collector, "GET /v1/fleet HTTP/1.1", "").await;
    assert_eq!(status, 200, "{body}");
    let page = json(&body);
    assert!(page.get("next").is_none(), "one page holds all three");
    let devices = page["devices"].as_array().expect("devices");
    let names: Vec<&str> = devices
        .iter()
        .map(|d| d["device"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["car-a", "car-b", "car-c"]);
    for d in devices {
        let name = d["device"].as_str().unwrap_or_default();
        let (_, latest) = request(
            &collector,
            &format!("GET /v1/devices/{name}/latest HTTP/1.1"),
            "",
        )
        .await;
        assert_eq!(
            *d,
            json(&latest),
            "the fleet entry of {name} is its /latest"
        );
    }
    assert_eq!(devices[1]["t"], T0 + 5_000);
    assert_eq!(devices[1]["seq"], 1);

    let (_, first) = request(&collector, "GET /v1/fleet?limit=2 HTTP/1.1", "").await;
    let first = json(&first);
    assert_eq!(first["devices"].as_array().map(Vec::len), Some(2));
    assert_eq!(first["next"], "car-b");
    let (_, second) = request(&collector, "GET /v1/fleet?after=car-b&limit=2 HTTP/1.1", "").await;
    let second = json(&second);
    assert_eq!(second["devices"][0]["device"], "car-c");
    assert!(second.get("next").is_none());
    collector.stop().await;
}

#[tokio::test]
async fn fleet_needs_the_read_token() {
    let collector = collector_with(None).await;
    post_fixes(&collector, "car-a", 1, &[(2_000, 52.5, 13.4)]).await;
    let (status, body) = raw_request(&collector, "GET /v1/fleet HTTP/1.1", "").await;
    assert_eq!(status, 401, "{body}");
    let ingest = format!("GET /v1/fleet HTTP/1.1\r\nAuthorization: Bearer {TOKEN}");
    let (status, _) = raw_request(&collector, &ingest, "").await;
    assert_eq!(status, 401, "the ingest token does not read");
    assert!(!body.contains("52.5"), "no coordinates in the refusal");
    collector.stop().await;
}

#[tokio::test]
async fn the_map_libraries_are_served_from_the_binary() {
    let collector = collector_with(None).await;
    for (path, marker) in [
        ("/map/vendor/leaflet/leaflet.js", "Leaflet"),
        ("/map/vendor/leaflet/leaflet.css", ".leaflet-pane"),
        (
            "/map/vendor/leaflet.markercluster/leaflet.markercluster.js",
            "MarkerClusterGroup",
        ),
        (
            "/map/vendor/leaflet.markercluster/MarkerCluster.css",
            ".leaflet-cluster-anim",
        ),
        (
            "/map/vendor/leaflet.markercluster/MarkerCluster.Default.css",
            ".marker-cluster-small",
        ),
    ] {
        // Static code, no data: served without the read token, like /map.js.
        let (status, body) = raw_request(&collector, &format!("GET {path} HTTP/1.1"), "").await;
        assert_eq!(status, 200, "{path}");
        assert!(body.contains(marker), "{path} holds {marker}");
    }
    let (status, body) = raw_request(
        &collector,
        "GET /map/vendor/leaflet/../Cargo.toml HTTP/1.1",
        "",
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = raw_request(&collector, "GET /map/vendor/leaflet/LICENSE HTTP/1.1", "").await;
    assert_eq!(status, 404, "only the listed files are served");
    collector.stop().await;
}

#[tokio::test]
async fn the_page_names_the_configured_tiles() {
    let style = MapStyle::parse("https://tiles.example/{z}/{x}/{y}.png")
        .expect("valid")
        .with_attribution("Example tiles");
    let collector = collector_with(Some(style)).await;
    let (status, page) = request(&collector, "GET /map HTTP/1.1", "").await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"content="https://tiles.example/{z}/{x}/{y}.png""#));
    assert!(page.contains(r#"content="Example tiles""#));
    collector.stop().await;

    let plain = collector_with(None).await;
    let (_, page) = request(&plain, "GET /map HTTP/1.1", "").await;
    assert!(page.contains(r#"<meta name="tracelet-map-style" content="">"#));
    plain.stop().await;
}
