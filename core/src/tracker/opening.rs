//! Opening a tracker: the queue, steady time resumed across restarts, the on-device log, and
//! every piece of state the queue keeps (motion, geofences, annotations, the last location,
//! the schedule), assembled into the [`Shared`] state the API and the upload thread use.

use super::*;

impl Shared {
    pub(super) fn open(
        config: TrackerConfig,
        clock: Arc<dyn Clock>,
        transport: Arc<dyn Transport>,
    ) -> Result<Arc<Shared>, TrackerError> {
        let endpoint = config.validate()?;
        let opened = Store::open_with(
            &config.storage_dir,
            &StoreOptions {
                limits: config.store_limits,
                marker_dir: config.marker_dir.clone(),
                stream_ids: config.stream_ids,
            },
        )?;
        let mut store = opened.store;
        let mark = store
            .meta(META_STEADY_MARK)?
            .as_deref()
            .and_then(SteadyMark::parse);
        let steady = Arc::new(SteadyClock::resume(Arc::clone(&clock), mark));
        store.set_meta(META_STEADY_MARK, &steady.mark().render())?;
        let logs = LogHub::start(
            store.path(),
            config.logs,
            Arc::clone(&clock),
            Arc::clone(&steady),
        )
        .map_err(|e| TrackerError::Storage(e.to_string()))?;
        let _log = crate::logs::router::enter(&logs);
        let tracking = store.meta(META_TRACKING)?.as_deref() == Some("1");
        log::info!(
            "tracker opened: {} fixes queued, tracking {}{}",
            store.pending_count(),
            if tracking {
                "on (resumed after a restart)"
            } else {
                "off"
            },
            match &opened.quarantined {
                Some(_) => ", the corrupt queue file was moved aside and a new one started",
                None => "",
            }
        );
        if let Some(mark) = mark {
            let resumed = steady.now_ms();
            log::info!(
                "steady time resumed {} s after the last mark ({})",
                (resumed - mark.steady_ms) / 1000,
                if clock.monotonic_ms() >= mark.monotonic_ms {
                    "same boot"
                } else {
                    "after a reboot"
                }
            );
        }
        let seed = config.jitter_seed.unwrap_or_else(|| clock.now_ms() as u64);
        let mut decider = Decider::new(config.policy.clone(), config.filter);
        platform_inputs::resume_motion(&store, &mut decider, tracking, steady.now_ms());
        let mut geofencing = Geofencing::new(config.geofence, config.os_max_regions);
        geofencing.load(store.load_geofences()?.0);
        let annotations = app_data::load_annotations(&store)?;
        let locations = locations::Locations::load(&store)?;
        let schedule = scheduled::Scheduled::load(&store)?;
        let state = State {
            status: Status {
                tracking,
                pending_count: store.pending_count(),
                storage_recovered: opened.quarantined.is_some(),
                ..Status::default()
            },
            rejected_by_reason: BTreeMap::new(),
            bearer_token: config.bearer_token.clone(),
            request_extras: config.request_extras()?,
            // Assume a network until the platform layer says otherwise: a failed attempt
            // costs little, and a platform without connectivity callbacks still uploads.
            network: NetworkState {
                connected: true,
                unmetered: true,
            },
            unreported_quarantine: opened.quarantined.map(|p| {
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            }),
            retry_at_ms: None,
            consecutive_failures: 0,
            jitter: Jitter::new(seed),
            planned_wake_ms: None,
        };
        let wall_offset_ms = AtomicI64::new(clock.now_ms().saturating_sub(steady.now_ms()));
        let shared = Arc::new(Shared {
            config,
            endpoint,
            steady,
            logs,
            wall_offset_ms,
            transport,
            store: Mutex::new(store),
            state: Mutex::new(state),
            decider: Mutex::new(decider),
            geofencing: Mutex::new(geofencing),
            annotations: Mutex::new(annotations),
            locations,
            requests: Mutex::default(),
            sampling_overridden: Mutex::new(false),
            listener: Mutex::new(None),
            token_provider: Mutex::new(None),
            wake: Notify::new(),
            upload_requested: AtomicBool::new(false),
            ignore_backoff: AtomicBool::new(false),
            uploader_rounds: AtomicU64::new(0),
            access: Mutex::new(crate::platform::AccessReport::of(
                crate::platform::LocationAccess::FULL,
            )),
            schedule: Mutex::new(schedule),
        });
        // A window may have opened or closed while the app was not running.
        shared.apply_schedule()?;
        Ok(shared)
    }
}
