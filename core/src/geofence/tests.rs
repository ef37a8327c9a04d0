use proptest::prelude::*;

use super::*;
use crate::annotations::MetadataError;
use crate::geodesy::{LocalPlane, distance_m};

const LAT0: f64 = 48.85;
const LON0: f64 = 2.35;
const T0: i64 = 1_700_000_000_000;

/// A position `east`, `north` metres from (LAT0, LON0).
fn at(east: f64, north: f64) -> (f64, f64) {
    LocalPlane::new(LAT0, LON0).to_geo(east, north)
}

fn poly_m(id: &str, pts: &[(f64, f64)]) -> Geofence {
    Geofence::polygon(id, pts.iter().map(|&(e, n)| at(e, n)).collect())
}

fn dist(fence: &Geofence, p: (f64, f64)) -> f64 {
    PreparedShape::new(&fence.shape)
        .expect("valid shape")
        .signed_distance_m(p.0, p.1)
}

// ---- validation ----

#[test]
fn validation_errors() {
    let ok = Geofence::circle("a", LAT0, LON0, 100.0);
    assert_eq!(ok.validate(), Ok(()));
    let cases = [
        (
            Geofence::circle("", LAT0, LON0, 100.0),
            GeofenceError::InvalidId { chars: 0 },
        ),
        (
            Geofence::circle("x".repeat(129), LAT0, LON0, 100.0),
            GeofenceError::InvalidId { chars: 129 },
        ),
        (
            Geofence::circle("a", LAT0, LON0, 0.5),
            GeofenceError::InvalidRadius,
        ),
        (
            Geofence::circle("a", LAT0, LON0, 100_001.0),
            GeofenceError::InvalidRadius,
        ),
        (
            Geofence::circle("a", f64::NAN, LON0, 100.0),
            GeofenceError::InvalidCoordinate { vertex: None },
        ),
        (
            Geofence::circle("a", 91.5, LON0, 100.0),
            GeofenceError::InvalidCoordinate { vertex: None },
        ),
        (
            Geofence::polygon("a", vec![(LAT0, LON0), (LAT0 + 0.01, LON0)]),
            GeofenceError::TooFewVertices { count: 2 },
        ),
        (
            Geofence::polygon("a", vec![(LAT0, LON0), (LAT0, 181.0), (LAT0 + 0.01, LON0)]),
            GeofenceError::InvalidCoordinate { vertex: Some(1) },
        ),
        (
            poly_m(
                "a",
                &[(0.0, 0.0), (100.0, 100.0), (200.0, 200.0), (50.0, 50.0)],
            ),
            GeofenceError::InvalidPolygon,
        ),
        (
            poly_m("a", &[(0.0, 0.0), (0.0, 0.0), (0.0, 0.0)]),
            GeofenceError::InvalidPolygon,
        ),
        // A bow tie: its edges cross, so inside and outside are not well defined.
        (
            poly_m(
                "a",
                &[(0.0, 0.0), (100.0, 0.0), (0.0, 100.0), (100.0, 100.0)],
            ),
            GeofenceError::InvalidPolygon,
        ),
        (
            poly_m("a", &[(0.0, 0.0), (150_000.0, 0.0), (0.0, 150_000.0)]),
            GeofenceError::PolygonTooLarge,
        ),
        (
            Geofence {
                dwell_ms: Some(-1),
                ..ok.clone()
            },
            GeofenceError::InvalidDwell,
        ),
        (
            Geofence {
                metadata: vec![("k".into(), "1".into()), ("k".into(), "2".into())],
                ..ok.clone()
            },
            GeofenceError::InvalidMetadata(MetadataError::DuplicateKey { index: 1 }),
        ),
        (
            Geofence {
                metadata: vec![("k".into(), "v".repeat(2_000))],
                ..ok.clone()
            },
            GeofenceError::InvalidMetadata(MetadataError::TooLarge { bytes: 2_001 }),
        ),
    ];
    for (fence, expected) in cases {
        let err = fence.validate().expect_err("invalid");
        assert_eq!(err, expected);
        let text = err.to_string();
        assert!(!text.contains("48.8") && !text.contains("91.5"), "{text}");
    }
    // 128 characters, not bytes.
    assert_eq!(
        Geofence::circle("é".repeat(128), LAT0, LON0, 1.0).validate(),
        Ok(())
    );
    let many: Vec<(f64, f64)> = (0..1001)
        .map(|i| {
            let a = i as f64 / 1001.0 * std::f64::consts::TAU;
            at(100.0 * a.cos(), 100.0 * a.sin())
        })
        .collect();
    assert_eq!(
        Geofence::polygon("a", many).validate(),
        Err(GeofenceError::TooManyVertices { count: 1001 })
    );
}

// ---- geometry ----

#[test]
fn circle_distance_is_signed() {
    let c = Geofence::circle("c", LAT0, LON0, 100.0);
    assert!((dist(&c, (LAT0, LON0)) + 100.0).abs() < 1e-6);
    assert!((dist(&c, at(0.0, 150.0)) - 50.0).abs() < 0.1);
    assert!((dist(&c, at(60.0, 0.0)) + 40.0).abs() < 0.1);
}

/// A U: 300 m square with a 100 m wide notch from the top down to y = 100.
fn u_shape() -> Geofence {
    poly_m(
        "u",
        &[
            (0.0, 0.0),
            (300.0, 0.0),
            (300.0, 300.0),
            (200.0, 300.0),
            (200.0, 100.0),
            (100.0, 100.0),
            (100.0, 300.0),
            (0.0, 300.0),
        ],
    )
}

#[test]
fn concave_polygon_inside_and_outside() {
    let u = u_shape();
    let near = |d: f64, want: f64| (d - want).abs() < 0.05;
    assert!(near(dist(&u, at(50.0, 150.0)), -50.0)); // left arm
    assert!(near(dist(&u, at(250.0, 200.0)), -50.0)); // right arm
    assert!(near(dist(&u, at(150.0, 50.0)), -50.0)); // base
    assert!(near(dist(&u, at(150.0, 250.0)), 50.0)); // in the notch: outside
    assert!(near(dist(&u, at(150.0, 350.0)), 50.0 * 2f64.sqrt())); // above the notch
    assert!(near(dist(&u, at(-40.0, 150.0)), 40.0)); // left of it
    // Rays through vertices (y = 100 and y = 300 hit several).
    assert!(near(dist(&u, at(50.0, 100.0)), -50.0));
    assert!(near(dist(&u, at(-50.0, 100.0)), 50.0));
    assert!(dist(&u, at(50.0, 299.0)) < 0.0);
    assert!(dist(&u, at(150.0, 299.0)) > 0.0);
}

#[test]
fn points_on_edges_and_vertices_are_on_the_boundary() {
    let vertices = vec![(10.0, 20.0), (10.0, 20.01), (10.01, 20.01), (10.01, 20.0)];
    let square = Geofence::polygon("s", vertices.clone());
    for &v in &vertices {
        assert_eq!(dist(&square, v), 0.0, "vertex");
    }
    assert_eq!(dist(&square, (10.0, 20.005)), 0.0, "edge");
    assert_eq!(dist(&square, (10.005, 20.01)), 0.0, "edge");
    assert!(dist(&square, (10.0000001, 20.005)) < 0.0, "1 cm inside");
    assert!(dist(&square, (9.9999999, 20.005)) > 0.0, "1 cm outside");
    // The notch of the U: its vertices and edges too.
    let u = u_shape();
    assert_eq!(dist(&u, at(150.0, 100.0)), 0.0);
    assert_eq!(dist(&u, at(200.0, 100.0)), 0.0);
    assert_eq!(dist(&u, at(200.0, 250.0)), 0.0);
}

#[test]
fn polygon_crossing_the_antimeridian() {
    let fence = Geofence::polygon(
        "dateline",
        vec![
            (-0.01, 179.99),
            (-0.01, -179.99),
            (0.01, -179.99),
            (0.01, 179.99),
        ],
    );
    let shape = PreparedShape::new(&fence.shape).expect("valid");
    for lon in [180.0, -180.0, 179.995, -179.995] {
        assert!(shape.signed_distance_m(0.0, lon) < -500.0, "{lon}");
    }
    for lon in [179.98, -179.98, 0.0] {
        assert!(shape.signed_distance_m(0.0, lon) > 1000.0, "{lon}");
    }
    let b = shape.bounding_circle();
    assert!(b.lon.abs() > 179.99 && b.radius_m < 2_000.0, "{b:?}");
    // Same result with the vertices starting on the other side.
    let flipped = Geofence::polygon(
        "dateline",
        vec![
            (-0.01, -179.99),
            (0.01, -179.99),
            (0.01, 179.99),
            (-0.01, 179.99),
        ],
    );
    assert!(dist(&flipped, (0.0, 180.0)) < -1000.0);
}

#[test]
fn bounding_circle_contains_the_polygon() {
    let u = u_shape();
    let b = PreparedShape::new(&u.shape)
        .expect("valid")
        .bounding_circle();
    if let GeofenceShape::Polygon { vertices } = &u.shape {
        for &(lat, lon) in vertices {
            assert!(distance_m(b.lat, b.lon, lat, lon) <= b.radius_m);
        }
    }
}

// ---- events ----

fn engine_with(fences: Vec<Geofence>) -> GeofenceEngine {
    let mut engine = GeofenceEngine::new(GeofenceConfig::default());
    for f in fences {
        engine.add(f).expect("valid fence");
    }
    engine
}

fn enter(id: &str) -> GeofenceEvent {
    GeofenceEvent::Enter { id: id.into() }
}
fn exit(id: &str) -> GeofenceEvent {
    GeofenceEvent::Exit { id: id.into() }
}
fn dwell(id: &str) -> GeofenceEvent {
    GeofenceEvent::Dwell { id: id.into() }
}

#[test]
fn a_straddling_accuracy_circle_changes_nothing() {
    let mut e = engine_with(vec![Geofence::circle("c", LAT0, LON0, 100.0)]);
    let fix = |e: &mut GeofenceEngine, north: f64, acc: f64, t: i64| {
        let (lat, lon) = at(0.0, north);
        e.process(lat, lon, acc, T0 + t)
    };
    // 20 m inside, accuracy 30 m: the circle crosses the boundary.
    assert!(fix(&mut e, 80.0, 30.0, 0).is_empty());
    assert_eq!(e.state("c").map(|s| s.presence), Some(Presence::Unknown));
    // Same place, accuracy 5 m: inside by 20 >= 5 + 10.
    assert_eq!(fix(&mut e, 80.0, 5.0, 1000), vec![enter("c")]);
    // 30 m outside with 30 m accuracy: straddles, still inside.
    assert!(fix(&mut e, 130.0, 30.0, 2000).is_empty());
    // 45 m outside with 30 m: outside by more than 30 + 10; the second such fix confirms.
    assert!(fix(&mut e, 145.0, 30.0, 3000).is_empty());
    assert_eq!(fix(&mut e, 145.0, 30.0, 3500), vec![exit("c")]);
    // By default no accuracy is capped: 70 m inside with 500 m straddles and fires nothing.
    assert!(fix(&mut e, 30.0, 500.0, 4000).is_empty());
}

#[test]
fn strict_rule_by_default_and_an_opt_in_cap_for_recall() {
    let mut strict = engine_with(vec![Geofence::circle("c", LAT0, LON0, 100.0)]);
    assert!(strict.process(LAT0, LON0, 95.0, T0).is_empty());
    assert_eq!(strict.process(LAT0, LON0, 85.0, T0 + 1), vec![enter("c")]);
    // With a cap of 50 m, accuracy beyond it counts as 50 m: 95 m at the centre fires.
    let mut capped = GeofenceEngine::new(GeofenceConfig {
        accuracy_cap_m: 50.0,
        ..GeofenceConfig::default()
    });
    capped
        .add(Geofence::circle("c", LAT0, LON0, 100.0))
        .expect("valid");
    assert_eq!(capped.process(LAT0, LON0, 95.0, T0), vec![enter("c")]);
}

#[test]
fn invalid_and_stale_fixes_are_ignored() {
    let mut e = engine_with(vec![Geofence::circle("c", LAT0, LON0, 100.0)]);
    assert!(e.process(f64::NAN, LON0, 5.0, T0).is_empty());
    assert!(e.process(LAT0, LON0, -1.0, T0).is_empty());
    assert!(e.process(LAT0, LON0, f64::INFINITY, T0).is_empty());
    let (lat, lon) = at(0.0, 1000.0);
    assert!(e.process(lat, lon, 5.0, T0 + 10).is_empty());
    assert!(e.process(LAT0, LON0, 5.0, T0 + 5).is_empty(), "older fix");
    assert_eq!(e.process(LAT0, LON0, 5.0, T0 + 10), vec![enter("c")]);
}

#[test]
fn one_wild_outside_fix_does_not_end_a_stay() {
    let mut e = engine_with(vec![Geofence::circle("c", LAT0, LON0, 100.0)]);
    assert_eq!(e.process(LAT0, LON0, 10.0, T0), vec![enter("c")]);
    // A network fix 300 m off claiming 100 m: decisively outside, but alone.
    let (far_lat, far_lon) = at(0.0, 300.0);
    assert!(e.process(far_lat, far_lon, 100.0, T0 + 1_000).is_empty());
    // An inside fix resets the count, so the next outlier is alone again.
    assert!(e.process(LAT0, LON0, 10.0, T0 + 2_000).is_empty());
    assert!(e.process(far_lat, far_lon, 100.0, T0 + 3_000).is_empty());
    // A straddling fix leaves the count as it is; the next outside fix confirms.
    let (edge_lat, edge_lon) = at(0.0, 100.0);
    assert!(e.process(edge_lat, edge_lon, 20.0, T0 + 4_000).is_empty());
    assert_eq!(
        e.process(far_lat, far_lon, 100.0, T0 + 5_000),
        vec![exit("c")]
    );
    assert_eq!(e.state("c").map(|s| s.presence), Some(Presence::Outside));
}

#[test]
fn a_single_confirmation_exits_at_once_when_configured() {
    let mut e = GeofenceEngine::new(GeofenceConfig {
        exit_confirmations: 1,
        ..GeofenceConfig::default()
    });
    e.add(Geofence::circle("c", LAT0, LON0, 100.0))
        .expect("valid");
    assert_eq!(e.process(LAT0, LON0, 10.0, T0), vec![enter("c")]);
    let (lat, lon) = at(0.0, 300.0);
    assert_eq!(e.process(lat, lon, 10.0, T0 + 1_000), vec![exit("c")]);
}

#[test]
fn dwell_fires_once_per_stay() {
    let mut fence = Geofence::circle("c", LAT0, LON0, 100.0);
    fence.dwell_ms = Some(60_000);
    let mut e = engine_with(vec![fence]);
    assert_eq!(e.process(LAT0, LON0, 5.0, T0), vec![enter("c")]);
    assert!(e.process(LAT0, LON0, 5.0, T0 + 30_000).is_empty());
    assert!(e.tick(T0 + 59_999).is_empty());
    assert_eq!(e.tick(T0 + 60_000), vec![dwell("c")]);
    assert!(e.tick(T0 + 120_000).is_empty());
    assert!(e.process(LAT0, LON0, 5.0, T0 + 130_000).is_empty());
    let (lat, lon) = at(0.0, 500.0);
    assert!(e.process(lat, lon, 5.0, T0 + 139_000).is_empty());
    assert_eq!(e.process(lat, lon, 5.0, T0 + 140_000), vec![exit("c")]);
    assert!(e.tick(T0 + 300_000).is_empty(), "no dwell outside");
    assert_eq!(e.process(LAT0, LON0, 5.0, T0 + 310_000), vec![enter("c")]);
    // On a fix this time.
    assert_eq!(e.process(LAT0, LON0, 5.0, T0 + 370_000), vec![dwell("c")]);
}

#[test]
fn add_remove_list_replace() {
    let mut e = engine_with(vec![
        Geofence::circle("a", LAT0, LON0, 100.0),
        Geofence::circle("b", LAT0, LON0, 200.0),
        Geofence::circle("c", LAT0, LON0, 300.0),
    ]);
    assert_eq!(e.len(), 3);
    assert_eq!(e.process(LAT0, LON0, 5.0, T0).len(), 3);
    assert!(e.remove("a").is_some());
    assert!(e.remove("a").is_none());
    let ids: Vec<&str> = e.list().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["c", "b"]);
    assert_eq!(e.get("c").map(|f| f.id.as_str()), Some("c"));
    assert_eq!(e.state("c").map(|s| s.presence), Some(Presence::Inside));
    // Replacing resets the state: Enter fires again.
    e.add(Geofence::circle("c", LAT0, LON0, 400.0))
        .expect("valid");
    assert_eq!(e.len(), 2);
    assert_eq!(e.state("c").map(|s| s.presence), Some(Presence::Unknown));
    assert_eq!(e.process(LAT0, LON0, 5.0, T0 + 1), vec![enter("c")]);
    assert!(e.add(Geofence::circle("", LAT0, LON0, 1.0)).is_err());
    assert_eq!(e.len(), 2);
}

#[test]
fn far_geofences_are_outside_without_events() {
    let mut e = engine_with(vec![
        Geofence::circle("far", LAT0 + 1.0, LON0, 100.0),
        u_shape(),
    ]);
    assert!(e.process(LAT0 - 1.0, LON0, 5.0, T0).is_empty());
    assert_eq!(e.state("far").map(|s| s.presence), Some(Presence::Outside));
    assert_eq!(e.state("u").map(|s| s.presence), Some(Presence::Outside));
}

proptest! {
    /// Fixes jittering within their accuracy around the boundary never fire.
    #[test]
    fn no_flapping_at_the_boundary(
        start_inside in any::<bool>(),
        jitter in prop::collection::vec((-1.0f64..1.0, 3.0f64..50.0, 0.0f64..1.0), 1..200),
    ) {
        let mut circle = engine_with(vec![Geofence::circle("c", LAT0, LON0, 300.0)]);
        let mut u = engine_with(vec![u_shape()]);
        let (inside, outside) = ((LAT0, LON0), at(0.0, 5000.0));
        let first = if start_inside { inside } else { outside };
        circle.process(first.0, first.1, 5.0, T0);
        let first = if start_inside { at(50.0, 50.0) } else { outside };
        u.process(first.0, first.1, 5.0, T0);
        let before = (circle.state("c"), u.state("u"));
        for (i, &(j, acc, frac)) in jitter.iter().enumerate() {
            let t = T0 + 1000 * (i as i64 + 1);
            // On the circle's boundary at a random bearing, +- accuracy.
            let bearing = frac * std::f64::consts::TAU;
            let r = 300.0 + j * acc;
            let (lat, lon) = at(r * bearing.cos(), r * bearing.sin());
            prop_assert!(circle.process(lat, lon, acc, t).is_empty());
            // On the bottom edge of the U's notch (a concave corner), +- accuracy.
            let (lat, lon) = at(100.0 + 100.0 * frac, 100.0 + j * acc);
            prop_assert!(u.process(lat, lon, acc, t).is_empty());
        }
        prop_assert_eq!(before, (circle.state("c"), u.state("u")));
    }

    /// On a random walk, each geofence's events start with Enter, alternate Enter/Exit, and
    /// Dwell comes at most once, only inside.
    #[test]
    fn events_alternate(
        steps in prop::collection::vec((-80.0f64..80.0, -80.0f64..80.0, 1.0f64..100.0, 0i64..120_000), 1..300),
    ) {
        let mut dwelling = Geofence::circle("c", LAT0, LON0, 200.0);
        dwelling.dwell_ms = Some(60_000);
        let mut e = engine_with(vec![dwelling, u_shape()]);
        let (mut x, mut y, mut t) = (0.0, 0.0, T0);
        let mut inside = std::collections::HashMap::<String, (bool, bool)>::new();
        for &(dx, dy, acc, dt) in &steps {
            x += dx;
            y += dy;
            t += dt;
            let (lat, lon) = at(x, y);
            let mut events = e.process(lat, lon, acc, t);
            events.extend(e.tick(t + dt / 2));
            for event in events {
                match event {
                    GeofenceEvent::Enter { id } => {
                        let s = inside.entry(id).or_insert((false, false));
                        prop_assert!(!s.0, "two Enters in a row");
                        *s = (true, false);
                    }
                    GeofenceEvent::Exit { id } => {
                        let s = inside.entry(id).or_insert((false, false));
                        prop_assert!(s.0, "Exit without Enter");
                        *s = (false, false);
                    }
                    GeofenceEvent::Dwell { id } => {
                        let s = inside.entry(id).or_insert((false, false));
                        prop_assert!(s.0 && !s.1, "Dwell outside or twice");
                        s.1 = true;
                    }
                }
            }
        }
    }

    /// The nearest-N choice equals a brute-force full sort on the same keys.
    #[test]
    fn nearest_matches_brute_force(
        fences in prop::collection::vec((-0.5f64..0.5, -0.5f64..0.5, 1.0f64..5_000.0), 0..300),
        query in (-0.6f64..0.6, -0.6f64..0.6),
        n in 0usize..120,
    ) {
        let mut e = GeofenceEngine::default();
        for (i, &(dlat, dlon, r)) in fences.iter().enumerate() {
            e.add(Geofence::circle(format!("f{i}"), LAT0 + dlat, LON0 + dlon, r)).expect("valid");
        }
        let (lat, lon) = (LAT0 + query.0, LON0 + query.1);
        let got: Vec<&str> = e.nearest(lat, lon, n).iter().map(|f| f.id.as_str()).collect();
        let cos = lat.to_radians().cos();
        let mut brute: Vec<(f64, &str)> = e
            .list()
            .zip(&e.bounds)
            .map(|(f, b)| (regions::boundary_key(lat, lon, cos, b), f.id.as_str()))
            .collect();
        brute.sort_by(|a, b| a.0.total_cmp(&b.0));
        let cut = n.min(brute.len());
        // Same set and order as the full sort, up to f32 rounding of near ties.
        let keys: std::collections::HashMap<&str, f64> = brute.iter().map(|p| (p.1, p.0)).collect();
        prop_assert_eq!(got.len(), cut);
        for (rank, id) in got.iter().enumerate() {
            prop_assert!((keys[id] - brute[rank].0).abs() <= 0.05, "rank {}", rank);
        }
        if let Some(next) = brute.get(cut) {
            prop_assert!(got.iter().all(|id| keys[id] <= next.0 + 0.05));
        }
        if brute.windows(2).all(|w| w[1].0 - w[0].0 > 0.05) {
            let want: Vec<&str> = brute[..cut].iter().map(|p| p.1).collect();
            prop_assert_eq!(got, want);
        }
        // The key is the haversine distance to the boundary, to within 2 % over these ~100 km
        // (the query's cosine is used for every longitude difference).
        for (f, b) in e.list().zip(&e.bounds) {
            let key = regions::boundary_key(lat, lon, cos, b);
            let exact = distance_m(lat, lon, b.lat, b.lon) - b.radius_m;
            prop_assert!((key - exact).abs() <= 1.0 + 2e-2 * (exact + b.radius_m), "{}", f.id);
        }
    }

    #[test]
    fn json_round_trip(
        circle in prop::option::of((-89.0f64..89.0, -180.0f64..180.0, 1.0f64..100_000.0)),
        center in (-80.0f64..80.0, -180.0f64..180.0),
        n in 3usize..12,
        metadata in prop::collection::vec(("[a-z\"\\\\é]{1,6}", ".{0,8}"), 0..4),
        dwell_ms in prop::option::of(0i64..MAX_DWELL_MS),
    ) {
        let shape = match circle {
            Some((lat, lon, r)) => GeofenceShape::Circle { center_lat: lat, center_lon: lon, radius_m: r },
            None => {
                let plane = LocalPlane::new(center.0, center.1);
                let vertices = (0..n)
                    .map(|i| {
                        let a = i as f64 / n as f64 * std::f64::consts::TAU;
                        plane.to_geo(500.0 * a.cos(), 300.0 * a.sin())
                    })
                    .collect();
                GeofenceShape::Polygon { vertices }
            }
        };
        let mut seen = std::collections::HashSet::new();
        let metadata: Vec<(String, String)> =
            metadata.into_iter().filter(|(k, _)| seen.insert(k.clone())).collect();
        let fence = Geofence { id: "id \"1\"".into(), shape, metadata, dwell_ms };
        let text = fence.to_json().expect("valid");
        let back = Geofence::from_json(&text).expect("round trip");
        prop_assert_eq!(&back.id, &fence.id);
        prop_assert_eq!(&back.metadata, &fence.metadata);
        prop_assert_eq!(back.dwell_ms, fence.dwell_ms);
        // Without serde_json's float_roundtrip feature a float may come back one ulp off.
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(1.0);
        match (&back.shape, &fence.shape) {
            (
                GeofenceShape::Circle { center_lat: a, center_lon: b, radius_m: c },
                GeofenceShape::Circle { center_lat: x, center_lon: y, radius_m: z },
            ) => prop_assert!(close(*a, *x) && close(*b, *y) && close(*c, *z)),
            (GeofenceShape::Polygon { vertices: v }, GeofenceShape::Polygon { vertices: w }) => {
                prop_assert_eq!(v.len(), w.len());
                for (p, q) in v.iter().zip(w) {
                    prop_assert!(close(p.0, q.0) && close(p.1, q.1));
                }
            }
            _ => prop_assert!(false, "shape changed"),
        }
    }
}

// ---- regions ----

#[test]
fn region_request_respects_the_os_limits() {
    let mut e = GeofenceEngine::default();
    for i in 0..500 {
        let f = if i % 5 == 0 {
            let (e0, n0) = (i as f64 * 37.0 % 9000.0, i as f64 * 53.0 % 9000.0);
            poly_m(
                &format!("p{i}"),
                &[(e0, n0), (e0 + 80.0, n0), (e0, n0 + 60.0)],
            )
        } else {
            let (lat, lon) = at(i as f64 * 41.0 % 9000.0, i as f64 * 29.0 % 9000.0);
            Geofence::circle(format!("c{i}"), lat, lon, 50.0 + i as f64)
        };
        e.add(f).expect("valid");
    }
    for (limit, want) in [
        (IOS_MAX_REGIONS, 19),
        (ANDROID_MAX_REGIONS, 99),
        (1, 0),
        (0, 0),
    ] {
        let req = e.region_request(LAT0, LON0, limit);
        assert_eq!(req.regions.len(), want);
        let nearest: Vec<&str> = e
            .nearest(LAT0, LON0, want)
            .iter()
            .map(|f| f.id.as_str())
            .collect();
        let ids: Vec<&str> = req.regions.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, nearest);
    }
    // A polygon is sent as its bounding circle.
    let req = e.region_request(LAT0, LON0, 1000);
    let p0 = req
        .regions
        .iter()
        .find(|r| r.id == "p0")
        .expect("all regions fit");
    assert!(p0.radius_m > 50.0 && p0.radius_m < 60.0, "{p0:?}");
    // Fewer geofences than slots: all of them, inside ones first.
    let mut small = engine_with(vec![
        Geofence::circle("far", LAT0 + 0.1, LON0, 100.0),
        Geofence::circle("here", LAT0, LON0, 100.0),
    ]);
    let ids: Vec<String> = small
        .region_request(LAT0, LON0, IOS_MAX_REGIONS)
        .regions
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["here", "far"]);
    small.remove("far");
    assert_eq!(small.nearest(LAT0, LON0, 5).len(), 1);
}

// ---- JSON ----

#[test]
fn documented_json_shapes_parse() {
    let file = r#"[
        {"id": "depot", "circle": {"lat": 48.85, "lon": 2.35, "radius_m": 100}, "dwell_s": 300},
        {"id": "yard", "polygon": [[48.85, 2.35], [48.86, 2.35], [48.86, 2.36], [48.85, 2.35]],
         "metadata": {"customer": "42", "a": "b"}, "dwell_s": 1.5}
    ]"#;
    let fences = parse_geofence_file(file).expect("valid file");
    assert_eq!(fences.len(), 2);
    assert_eq!(fences[0], {
        let mut f = Geofence::circle("depot", 48.85, 2.35, 100.0);
        f.dwell_ms = Some(300_000);
        f
    });
    assert_eq!(fences[1].dwell_ms, Some(1500));
    assert_eq!(
        fences[1].metadata,
        vec![("customer".into(), "42".into()), ("a".into(), "b".into())]
    );
    assert_eq!(
        fences[0].to_json().expect("valid"),
        r#"{"id":"depot","circle":{"lat":48.85,"lon":2.35,"radius_m":100.0},"dwell_s":300}"#
    );
    assert_eq!(parse_geofence_file("[]"), Ok(vec![]));
}

#[test]
fn json_errors() {
    let bad = [
        (r#"{"id":"a"}"#, GeofenceError::ShapeMissingOrAmbiguous),
        (
            r#"{"id":"a","circle":{"lat":1,"lon":2,"radius_m":10},"polygon":[[0,0],[0,1],[1,0]]}"#,
            GeofenceError::ShapeMissingOrAmbiguous,
        ),
        (
            r#"{"id":"a","circle":{"lat":91.5,"lon":2,"radius_m":10}}"#,
            GeofenceError::InvalidCoordinate { vertex: None },
        ),
        (
            r#"{"id":"a","circle":{"lat":1,"lon":2,"radius_m":10},"dwell_s":-1}"#,
            GeofenceError::InvalidDwell,
        ),
    ];
    for (text, want) in bad {
        assert_eq!(Geofence::from_json(text), Err(want), "{text}");
    }
    for text in [
        r#"{"id":"a","circle":{"lat":1,"lon":2,"radius":10}}"#,
        r#"{"id":"a","circle":{"lat":"91.5","lon":2,"radius_m":10}}"#,
        r#"{"id":"a","polygon":[[91.5,2,3]]}"#,
        r#"{"id":"a","circle":{"lat":1,"lon":2,"radius_m":10},"metadata":{"k":91.5}}"#,
        "{",
    ] {
        let err = Geofence::from_json(text).expect_err(text);
        assert!(matches!(err, GeofenceError::Json { .. }), "{text}: {err:?}");
        assert!(!err.to_string().contains("91.5"), "{err}");
    }
    let dup = r#"[{"id":"a","circle":{"lat":1,"lon":2,"radius_m":10}},
                  {"id":"a","circle":{"lat":1,"lon":2,"radius_m":10}}]"#;
    assert_eq!(
        parse_geofence_file(dup),
        Err(GeofenceError::DuplicateId { index: 1 })
    );
    let invalid = r#"[{"id":"a","circle":{"lat":1,"lon":2,"radius_m":10}},
                      {"id":"b","circle":{"lat":1,"lon":2,"radius_m":0}}]"#;
    assert_eq!(
        parse_geofence_file(invalid),
        Err(GeofenceError::InFile {
            index: 1,
            error: Box::new(GeofenceError::InvalidRadius)
        })
    );
    let invalid = Geofence::circle("a", f64::NAN, 0.0, 10.0);
    assert!(invalid.to_json().is_err());
}
