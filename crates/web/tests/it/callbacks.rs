//! Callbacks through the API and the pages, on both databases: windows checked against a
//! hotline's real hours (one open around the clock, one open two hours a day starting an hour
//! from now), the cap on waiting callbacks, cancelling, nobody touching anyone else's, two
//! agents claiming at once, the retry policy (again in the window, at the next opening, missed
//! after the last try, done), and both pages in both languages with their CSRF-checked forms.
//!
//! The clock is the real one; where a story needs time to pass, the callback's row is moved
//! back instead (`travel`).

use axum::http::StatusCode;
use serde_json::{json, Value};
use testkit::both_backends;

use crate::accounts::STRONG;
use crate::pages::Browser;
use crate::tickets::{json_of, staff};
use crate::App;

const MINUTE_MS: i64 = 60_000;

fn now_ms() -> i64 {
    store::now_ms()
}

fn at(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).unwrap().to_string()
}

fn ms_of(v: &Value) -> i64 {
    v.as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_millisecond()
}

/// The next time the "office" hotline opens: the start of the next whole minute an hour from
/// now. It is open two hours from then, every day (UTC).
fn office_opens_ms(now: i64) -> i64 {
    (now + 60 * MINUTE_MS).div_euclid(MINUTE_MS) * MINUTE_MS + MINUTE_MS
}

/// An admin, a hotline open around the clock (`always`) and one open two hours a day starting
/// at `opens_ms` (`office`): the admin's token.
async fn hotlines(app: &App, opens_ms: i64) -> String {
    let (_, admin) = staff(app, "admin@example.com", identity::Role::Admin).await;
    let hm = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .unwrap()
            .strftime("%H:%M")
            .to_string()
    };
    for (id, schedule) in [
        ("always", json!({"time_zone": "UTC", "always_open": true})),
        (
            "office",
            json!({"time_zone": "UTC", "weekly": [{"days": ["mon","tue","wed","thu","fri","sat","sun"],
                "start": hm(opens_ms), "end": hm(opens_ms + 120 * MINUTE_MS)}]}),
        ),
    ] {
        json_of(
            app.put_json(
                &format!("/api/v1/admin/contact-channels/{id}"),
                json!({"kind": "hotline", "name_zh": format!("{id} 热线"), "name_en": format!("{id} line"),
                       "value": "400-990-1234", "schedule": schedule, "cost": "local_rate"}),
                &admin,
            )
            .await,
            StatusCode::OK,
        )
        .await;
    }
    admin
}

impl App {
    async fn ask_callback(&self, token: &str, body: Value) -> reqwest::Response {
        self.post_json("/api/v1/callbacks", body, Some(token)).await
    }

    /// A callback on `hotline` between `start` and `end` (ms) to `phone`: its id.
    async fn booked(&self, token: &str, hotline: &str, start: i64, end: i64) -> String {
        let v = json_of(
            self.ask_callback(
                token,
                json!({"hotline_id": hotline, "phone": "+8613800138000",
                       "window_start": at(start), "window_end": at(end)}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        v["id"].as_str().unwrap().to_owned()
    }

    /// Time passes for a callback: its window and next try move to the given times.
    async fn travel(&self, id: &str, start: i64, end: i64, next: i64) {
        sqlx::query(
            "UPDATE callbacks SET window_start_ms = $1, window_end_ms = $2, \
             next_attempt_at_ms = $3 WHERE id = $4",
        )
        .bind(start)
        .bind(end)
        .bind(next)
        .bind(id)
        .execute(self.state.db.pool())
        .await
        .unwrap();
    }

    async fn claim_cb(&self, token: &str, id: &str) -> reqwest::Response {
        self.post_json(
            &format!("/api/v1/agent/callbacks/{id}/claim"),
            json!({}),
            Some(token),
        )
        .await
    }

    async fn log_try(&self, token: &str, id: &str, outcome: &str) -> Value {
        json_of(
            self.post_json(
                &format!("/api/v1/agent/callbacks/{id}/attempts"),
                json!({"outcome": outcome, "notes": format!("tried: {outcome}")}),
                Some(token),
            )
            .await,
            StatusCode::OK,
        )
        .await
    }

    async fn my_callback(&self, token: &str, id: &str) -> Value {
        let list = json_of(
            self.get_auth("/api/v1/me/callbacks", token).await,
            StatusCode::OK,
        )
        .await;
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} in {list}"))
    }
}

async fn refused(r: reqwest::Response, status: StatusCode, code: &str) -> Value {
    let (s, body) = crate::problem(r).await;
    assert_eq!((s, body["code"].as_str()), (status, Some(code)), "{body}");
    body
}

both_backends!(
    windows_must_lie_inside_the_hotlines_hours,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, kim) = app.customer("kim@example.com").await;
        let now = now_ms();
        let ask = |hotline: Option<&str>, start: i64, end: i64| {
            let mut body = json!({"phone": "138 0013 8000", "window_start": at(start),
                                  "window_end": at(end)});
            if let Some(h) = hotline {
                body["hotline_id"] = json!(h);
            }
            app.ask_callback(&kim, body)
        };
        // No hotline yet: nobody to call back.
        refused(
            ask(None, now + 10 * MINUTE_MS, now + 40 * MINUTE_MS).await,
            StatusCode::CONFLICT,
            "callback_unavailable",
        )
        .await;
        let opens = office_opens_ms(now);
        hotlines(&app, opens).await;

        let ok = json_of(
            ask(Some("always"), now + 10 * MINUTE_MS, now + 40 * MINUTE_MS).await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(ok["state"], "requested");
        assert_eq!(ok["phone"], "+8613800138000", "normalised: {ok}");
        assert_eq!(ok["hotline"]["id"], "always");
        assert_eq!(ms_of(&ok["next_attempt_at"]), ms_of(&ok["window_start"]));
        assert!(ok["ticket_number"].as_i64().unwrap() > 0);

        for (start, end, code) in [
            (
                now - 120 * MINUTE_MS,
                now - 90 * MINUTE_MS,
                "callback_window_in_past",
            ),
            (
                now + 10 * MINUTE_MS,
                now + 20 * MINUTE_MS,
                "callback_window_too_short",
            ),
            (
                now + 40 * MINUTE_MS,
                now + 10 * MINUTE_MS,
                "callback_window_too_short",
            ),
            (
                now + 10 * MINUTE_MS,
                now + 310 * MINUTE_MS,
                "callback_window_too_long",
            ),
            (
                now + 15 * 24 * 60 * MINUTE_MS,
                now + 15 * 24 * 60 * MINUTE_MS + 30 * MINUTE_MS,
                "callback_window_too_far",
            ),
        ] {
            refused(
                ask(Some("always"), start, end).await,
                StatusCode::UNPROCESSABLE_ENTITY,
                code,
            )
            .await;
        }

        // The office line: inside its two hours, fine; before it opens or past its close,
        // refused with when it opens next.
        let inside = json_of(
            ask(
                Some("office"),
                opens + 10 * MINUTE_MS,
                opens + 40 * MINUTE_MS,
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(inside["hotline"]["id"], "office");
        let before = refused(
            ask(
                Some("office"),
                opens - 20 * MINUTE_MS,
                opens + 10 * MINUTE_MS,
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "callback_window_closed",
        )
        .await;
        assert_eq!(ms_of(&before["next_open_at"]), opens, "{before}");
        let after = refused(
            ask(
                Some("office"),
                opens + 105 * MINUTE_MS,
                opens + 135 * MINUTE_MS,
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "callback_window_closed",
        )
        .await;
        assert_eq!(
            ms_of(&after["next_open_at"]),
            opens + 24 * 60 * MINUTE_MS,
            "{after}"
        );
        let zh = crate::problem(
            app.client
                .post(app.url("/api/v1/callbacks"))
                .bearer_auth(&kim)
                .header("accept-language", "zh-CN")
                .json(&json!({"hotline_id": "office", "phone": "13800138000",
                              "window_start": at(opens - 20 * MINUTE_MS),
                              "window_end": at(opens + 10 * MINUTE_MS)}))
                .send()
                .await
                .unwrap(),
        )
        .await
        .1;
        assert!(crate::has_chinese(zh["detail"].as_str().unwrap()), "{zh}");

        for v in [&ok, &inside] {
            let path = format!("/api/v1/callbacks/{}", v["id"].as_str().unwrap());
            json_of(app.delete_auth(&path, &kim).await, StatusCode::OK).await;
        }
        // Client mistakes are 4xx with a code, never 500.
        let r = app
            .ask_callback(
                &kim,
                json!({"hotline_id": "nope", "phone": "13800138000",
                       "window_start": at(now + 10 * MINUTE_MS), "window_end": at(now + 40 * MINUTE_MS)}),
            )
            .await;
        assert_eq!(
            refused(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await["field"],
            "hotline_id"
        );
        let r = app
            .ask_callback(
                &kim,
                json!({"window_start": "tomorrow", "window_end": at(now + 40 * MINUTE_MS)}),
            )
            .await;
        assert_eq!(
            refused(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await["field"],
            "window_start"
        );
        let r = app
            .ask_callback(
                &kim,
                json!({"window_start": at(now + 10 * MINUTE_MS), "window_end": at(now + 40 * MINUTE_MS)}),
            )
            .await;
        assert_eq!(
            refused(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await["field"],
            "phone",
            "no number given and none saved"
        );
        let r = app
            .ask_callback(
                &kim,
                json!({"phone": "call me maybe", "window_start": at(now + 10 * MINUTE_MS),
                       "window_end": at(now + 40 * MINUTE_MS)}),
            )
            .await;
        refused(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_phone").await;
        let r = app
            .ask_callback(&kim, json!({"window_start": 5, "surprise": true}))
            .await;
        refused(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;

        // The saved number is the default, and the first hotline open for the whole window
        // is chosen when none is named.
        json_of(
            app.put_json("/api/v1/me/phone", json!({"phone": "+85291234567"}), &kim)
                .await,
            StatusCode::OK,
        )
        .await;
        let v = json_of(
            ask(None, opens + 30 * MINUTE_MS, opens + 60 * MINUTE_MS).await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(v["hotline"]["id"], "always");
        let r = app
            .ask_callback(
                &kim,
                json!({"window_start": at(opens + 30 * MINUTE_MS), "window_end": at(opens + 60 * MINUTE_MS)}),
            )
            .await;
        assert_eq!(
            json_of(r, StatusCode::CREATED).await["phone"],
            "+85291234567"
        );

        // The slots offered lie inside the hours and can be booked as they are.
        let slots = json_of(
            app.get("/api/v1/callbacks/slots?hotline_id=office&limit=6")
                .await,
            StatusCode::OK,
        )
        .await;
        let items = slots["items"].as_array().unwrap();
        assert_eq!(items.len(), 6, "{slots}");
        assert_eq!(ms_of(&items[0]["window_start"]), opens);
        for s in items {
            let (a, b) = (ms_of(&s["window_start"]), ms_of(&s["window_end"]));
            assert_eq!(b - a, 30 * MINUTE_MS);
            let into = (a - opens).rem_euclid(24 * 60 * MINUTE_MS);
            assert!(into + 30 * MINUTE_MS <= 120 * MINUTE_MS, "{s}");
        }
        json_of(
            app.ask_callback(
                &kim,
                json!({"hotline_id": "office", "window_start": items[5]["window_start"],
                       "window_end": items[5]["window_end"]}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        refused(
            app.get("/api/v1/callbacks/slots?hotline_id=office&limit=0")
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        )
        .await;
    }
);

both_backends!(
    a_customer_holds_three_callbacks_at_most_and_cancels_only_their_own,
    |backend| async move {
        let app = App::spawn(backend).await;
        let now = now_ms();
        hotlines(&app, office_opens_ms(now)).await;
        let (_, kim) = app.customer("kim@example.com").await;
        let (_, lee) = app.customer("lee@example.com").await;
        let (_, agent) = staff(&app, "agent@example.com", identity::Role::Agent).await;
        let window = |i: i64| {
            (
                now + (10 + i * 40) * MINUTE_MS,
                now + (40 + i * 40) * MINUTE_MS,
            )
        };
        let mut ids = Vec::new();
        for i in 0..3 {
            let (a, b) = window(i);
            ids.push(app.booked(&kim, "always", a, b).await);
        }
        let (a, b) = window(3);
        let r = app
            .ask_callback(
                &kim,
                json!({"hotline_id": "always", "phone": "13800138000",
                       "window_start": at(a), "window_end": at(b)}),
            )
            .await;
        let body = refused(r, StatusCode::CONFLICT, "too_many_callbacks").await;
        assert!(body["detail"].as_str().unwrap().contains('3'), "{body}");
        let r = app
            .ask_callback(
                &agent,
                json!({"hotline_id": "always", "phone": "13800138000",
                       "window_start": at(a), "window_end": at(b)}),
            )
            .await;
        refused(r, StatusCode::FORBIDDEN, "forbidden").await;

        // Someone else's callback does not exist for Lee; a made-up id neither.
        for path in [
            format!("/api/v1/callbacks/{}", ids[0]),
            "/api/v1/callbacks/nope".to_owned(),
        ] {
            refused(
                app.delete_auth(&path, &lee).await,
                StatusCode::NOT_FOUND,
                "not_found",
            )
            .await;
        }
        assert_eq!(app.my_callback(&kim, &ids[0]).await["state"], "requested");
        let mine = json_of(
            app.get_auth("/api/v1/me/callbacks", &lee).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(mine["items"], json!([]));

        let cancelled = json_of(
            app.delete_auth(&format!("/api/v1/callbacks/{}", ids[0]), &kim)
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(cancelled["state"], "cancelled");
        assert!(cancelled["next_attempt_at"].is_null());
        refused(
            app.delete_auth(&format!("/api/v1/callbacks/{}", ids[0]), &kim)
                .await,
            StatusCode::CONFLICT,
            "callback_not_pending",
        )
        .await;
        // The untouched ticket is solved with a note for the team.
        let ticket = app
            .staff_view(&agent, cancelled["ticket_id"].as_str().unwrap())
            .await;
        assert_eq!(ticket["status"], "solved", "{ticket}");
        assert_eq!(ticket["channel"], "callback");
        // A place is free again; a cancelled callback is never claimed.
        app.booked(&kim, "always", a, b).await;
        refused(
            app.claim_cb(&agent, &ids[0]).await,
            StatusCode::CONFLICT,
            "callback_not_pending",
        )
        .await;
        let queue = json_of(
            app.get_auth("/api/v1/agent/callbacks", &agent).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(queue["items"].as_array().unwrap().len(), 3, "{queue}");
        refused(
            app.get_auth("/api/v1/agent/callbacks", &kim).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
);

both_backends!(
    two_agents_claiming_at_once_one_wins_and_only_they_see_the_number,
    |backend| async move {
        let app = App::spawn(backend).await;
        let now = now_ms();
        hotlines(&app, office_opens_ms(now)).await;
        let (kim_id, kim) = app.customer("kim@example.com").await;
        let (ann_id, ann) = staff(&app, "ann@example.com", identity::Role::Agent).await;
        let (bob_id, bob) = staff(&app, "bob@example.com", identity::Role::Agent).await;
        let id = app.booked(&kim, "always", now, now + 30 * MINUTE_MS).await;
        let later = app
            .booked(&kim, "always", now + 60 * MINUTE_MS, now + 90 * MINUTE_MS)
            .await;

        let queue = json_of(
            app.get_auth("/api/v1/agent/callbacks", &ann).await,
            StatusCode::OK,
        )
        .await;
        let items = queue["items"].as_array().unwrap();
        assert_eq!(items[0]["id"], id, "due first: {queue}");
        assert_eq!(items[0]["due"], true);
        assert_eq!(items[1]["due"], false);
        assert_ne!(items[0]["phone"], "+8613800138000", "masked: {queue}");
        assert_eq!(items[0]["phone"], "+86 138****8000");
        refused(
            app.claim_cb(&ann, &later).await,
            StatusCode::CONFLICT,
            "callback_not_due",
        )
        .await;
        refused(
            app.claim_cb(&ann, "nope").await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        refused(
            app.claim_cb(&kim, &id).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;

        // Again and again: the first winner keeps it (their claim is extended).
        for _ in 0..3 {
            let (a, b) = tokio::join!(app.claim_cb(&ann, &id), app.claim_cb(&bob, &id));
            let (sa, sb) = (a.status(), b.status());
            assert!(
                (sa == StatusCode::OK) != (sb == StatusCode::OK),
                "exactly one wins: {sa} {sb}"
            );
            let (winner, loser) = if sa == StatusCode::OK { (a, b) } else { (b, a) };
            refused(loser, StatusCode::CONFLICT, "callback_claimed").await;
            let won = json_of(winner, StatusCode::OK).await;
            assert_eq!(won["phone"], "+8613800138000");
            assert_eq!(won["claimed_by_me"], true);
        }
        let holder_token;
        let (holder, other, other_token) = {
            let queue = json_of(
                app.get_auth("/api/v1/agent/callbacks", &ann).await,
                StatusCode::OK,
            )
            .await;
            if queue["items"][0]["claimed_by_me"] == true {
                holder_token = ann.clone();
                (ann_id.clone(), bob_id.clone(), bob.clone())
            } else {
                holder_token = bob.clone();
                (bob_id.clone(), ann_id.clone(), ann.clone())
            }
        };
        let seen = json_of(
            app.get_auth("/api/v1/agent/callbacks", &other_token).await,
            StatusCode::OK,
        )
        .await;
        assert_ne!(seen["items"][0]["phone"], "+8613800138000");
        assert!(seen["items"][0]["claimed_by"].is_string(), "{seen}");
        // The number shown was an audited view of the customer's data.
        let audits = app
            .state
            .db
            .audit_events_for(&format!("user:{kim_id}"))
            .await
            .unwrap();
        assert!(
            audits.iter().any(|e| e.actor == format!("user:{holder}")
                && e.action == "customer.viewed"
                && e.detail.contains("callback_phone")),
            "{audits:?}"
        );
        assert!(
            !audits.iter().any(|e| e.actor == format!("user:{other}")),
            "{audits:?}"
        );
        // Only the holder records a try.
        let r = app
            .post_json(
                &format!("/api/v1/agent/callbacks/{id}/attempts"),
                json!({"outcome": "reached"}),
                Some(&other_token),
            )
            .await;
        refused(r, StatusCode::CONFLICT, "callback_not_claimed").await;
        let r = app
            .post_json(
                &format!("/api/v1/agent/callbacks/{id}/attempts"),
                json!({"outcome": "teleported"}),
                Some(&holder_token),
            )
            .await;
        refused(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
        let done = app.log_try(&holder_token, &id, "reached").await;
        assert_eq!(done["state"], "done");

        // A claim lapses by itself after ten minutes; then someone else may take it.
        app.travel(&later, now, now + 30 * MINUTE_MS, now).await;
        json_of(app.claim_cb(&ann, &later).await, StatusCode::OK).await;
        refused(
            app.claim_cb(&bob, &later).await,
            StatusCode::CONFLICT,
            "callback_claimed",
        )
        .await;
        sqlx::query("UPDATE callbacks SET claimed_until_ms = $1 WHERE id = $2")
            .bind(now_ms() - 1)
            .bind(&later)
            .execute(app.state.db.pool())
            .await
            .unwrap();
        let taken = json_of(app.claim_cb(&bob, &later).await, StatusCode::OK).await;
        assert_eq!(taken["claimed_by_me"], true);
    }
);

both_backends!(
    unanswered_calls_are_retried_per_policy_then_missed_or_done,
    |backend| async move {
        let app = App::spawn(backend).await;
        let now = now_ms();
        let opens = office_opens_ms(now);
        hotlines(&app, opens).await;
        let (_, kim) = app.customer("kim@example.com").await;
        let (_, agent) = staff(&app, "agent@example.com", identity::Role::Agent).await;

        // No answer twice, then reached.
        let id = app.booked(&kim, "always", now, now + 60 * MINUTE_MS).await;
        json_of(app.claim_cb(&agent, &id).await, StatusCode::OK).await;
        let first = app
            .client
            .post(app.url(&format!("/api/v1/agent/callbacks/{id}/attempts")))
            .bearer_auth(&agent)
            .header("idempotency-key", "try-1")
            .json(&json!({"outcome": "no_answer", "notes": "rang out; seed is abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"}))
            .send()
            .await
            .unwrap();
        let first = json_of(first, StatusCode::OK).await;
        assert_eq!(
            (first["state"].as_str(), first["attempts"].as_i64()),
            (Some("requested"), Some(1))
        );
        let next = ms_of(&first["next_attempt_at"]);
        let t = now_ms();
        assert!(
            next >= t + 14 * MINUTE_MS && next <= t + 16 * MINUTE_MS,
            "{first}"
        );
        assert_eq!(first["claimed_by"], Value::Null, "a try ends the claim");
        // The same try sent again is the same answer, recorded once.
        let again = app
            .client
            .post(app.url(&format!("/api/v1/agent/callbacks/{id}/attempts")))
            .bearer_auth(&agent)
            .header("idempotency-key", "try-1")
            .json(&json!({"outcome": "no_answer", "notes": "rang out; seed is abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"}))
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(again, StatusCode::OK).await["attempts"], 1);
        let tries = app.state.db.callback_attempts(&id).await.unwrap();
        assert_eq!(tries.len(), 1);
        assert!(
            !tries[0].notes.contains("abandon about"),
            "secrets hidden: {}",
            tries[0].notes
        );
        refused(
            app.claim_cb(&agent, &id).await,
            StatusCode::CONFLICT,
            "callback_not_due",
        )
        .await;
        assert_eq!(app.my_callback(&kim, &id).await["attempts"], 1);

        app.travel(&id, now - 20 * MINUTE_MS, now + 40 * MINUTE_MS, now_ms())
            .await;
        json_of(app.claim_cb(&agent, &id).await, StatusCode::OK).await;
        assert_eq!(app.log_try(&agent, &id, "busy").await["attempts"], 2);
        app.travel(&id, now - 20 * MINUTE_MS, now + 40 * MINUTE_MS, now_ms())
            .await;
        json_of(app.claim_cb(&agent, &id).await, StatusCode::OK).await;
        let done = app.log_try(&agent, &id, "reached").await;
        assert_eq!(
            (done["state"].as_str(), done["attempts"].as_i64()),
            (Some("done"), Some(3))
        );
        let mine = app.my_callback(&kim, &id).await;
        assert_eq!(
            (mine["state"].as_str(), mine["outcome"].as_str()),
            (Some("done"), Some("reached"))
        );
        let ticket = app
            .staff_view(&agent, mine["ticket_id"].as_str().unwrap())
            .await;
        let notes: Vec<&Value> = ticket["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["internal"] == true)
            .collect();
        assert_eq!(notes.len(), 3, "one note per try: {ticket}");
        assert!(
            notes[0]["body"].as_str().unwrap().contains("1/3"),
            "{ticket}"
        );

        // Three unanswered tries: missed, and the customer is told (a reply, mailed).
        let id = app.booked(&kim, "always", now, now + 60 * MINUTE_MS).await;
        for n in 1..=3 {
            app.travel(&id, now - 20 * MINUTE_MS, now + 40 * MINUTE_MS, now_ms())
                .await;
            json_of(app.claim_cb(&agent, &id).await, StatusCode::OK).await;
            let v = app.log_try(&agent, &id, "voicemail").await;
            assert_eq!(v["attempts"], n);
        }
        let mine = app.my_callback(&kim, &id).await;
        assert_eq!(
            (mine["state"].as_str(), mine["outcome"].as_str()),
            (Some("missed"), Some("voicemail"))
        );
        let mail = app
            .state
            .db
            .recent_mail(Some("kim@example.com"), 10)
            .await
            .unwrap();
        assert!(
            mail.iter()
                .any(|m| format!("{m:?}").contains("could not reach you")),
            "{mail:?}"
        );
        refused(
            app.claim_cb(&agent, &id).await,
            StatusCode::CONFLICT,
            "callback_not_pending",
        )
        .await;

        // A retry that no longer fits the window moves to the hotline's next opening, as long
        // as the window was.
        let id = app
            .booked(
                &kim,
                "office",
                opens + 80 * MINUTE_MS,
                opens + 115 * MINUTE_MS,
            )
            .await;
        app.travel(
            &id,
            now - 30 * MINUTE_MS,
            now + 5 * MINUTE_MS,
            now - 30 * MINUTE_MS,
        )
        .await;
        json_of(app.claim_cb(&agent, &id).await, StatusCode::OK).await;
        let moved = app.log_try(&agent, &id, "no_answer").await;
        assert_eq!(moved["state"], "requested");
        assert_eq!(ms_of(&moved["window_start"]), opens, "{moved}");
        assert_eq!(
            ms_of(&moved["window_end"]),
            opens + 35 * MINUTE_MS,
            "{moved}"
        );
        assert_eq!(ms_of(&moved["next_attempt_at"]), opens);

        // A wrong number is done, and the customer is told to fix it.
        let id = app.booked(&kim, "always", now, now + 30 * MINUTE_MS).await;
        json_of(app.claim_cb(&agent, &id).await, StatusCode::OK).await;
        assert_eq!(
            app.log_try(&agent, &id, "wrong_number").await["state"],
            "done"
        );
        let mine = app.my_callback(&kim, &id).await;
        assert_eq!(mine["outcome"], "wrong_number");
        let ticket = json_of(
            app.get_auth(
                &format!("/api/v1/tickets/{}", mine["ticket_id"].as_str().unwrap()),
                &kim,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert!(
            ticket["messages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["body"]
                    .as_str()
                    .unwrap()
                    .contains("does not seem to be your number")),
            "{ticket}"
        );
        assert!(
            !ticket.to_string().contains("tried: wrong_number"),
            "the team's notes stay with the team"
        );
    }
);

both_backends!(
    the_callback_pages_work_in_both_languages_with_csrf,
    |backend| async move {
        let app = App::spawn(backend).await;
        let now = now_ms();
        hotlines(&app, office_opens_ms(now)).await;
        app.customer("kim@example.com").await;
        let mut kim = Browser::new(&app);
        assert_eq!(kim.log_in("kim@example.com", STRONG).await.status, 303);

        let support = kim.get("/support").await;
        assert!(
            support.body.contains("href=\"/support/callback\""),
            "linked from /support"
        );
        let page = kim.get("/support/callback?hotline=office").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains("Call me back") && page.body.contains("name=\"slot\""),
            "{}",
            page.body
        );
        let slot = page
            .body
            .split("<option value=\"")
            .map(|p| p.split('"').next().unwrap())
            .find(|v| v.contains('|'))
            .unwrap()
            .to_owned();

        // Without the CSRF token nothing happens.
        let forged = kim
            .post(
                "/support/callback",
                &[
                    ("hotline_id", "office"),
                    ("slot", &slot),
                    ("phone", "13800138000"),
                ],
            )
            .await;
        assert_eq!(forged.status, 403);
        let bad = kim
            .submit(
                "/support/callback",
                "/support/callback",
                &[
                    ("hotline_id", "office"),
                    ("slot", &slot),
                    ("phone", "not a number"),
                ],
            )
            .await;
        assert_eq!(bad.status, 422, "{}", bad.body);
        assert!(bad.body.contains("data-error"), "{}", bad.body);
        let done = kim
            .submit(
                "/support/callback",
                "/support/callback",
                &[
                    ("hotline_id", "office"),
                    ("slot", &slot),
                    ("phone", "13800138000"),
                    ("message", "About my deposit"),
                ],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        let listed = kim.get("/support/callback?done=requested").await;
        assert!(
            listed.body.contains("data-state=\"requested\""),
            "{}",
            listed.body
        );
        assert!(listed.body.contains("Booked."), "{}", listed.body);

        // 中文
        assert_eq!(
            kim.get("/lang?to=zh-CN&back=/support/callback")
                .await
                .status,
            303
        );
        let zh = kim.get("/support/callback").await;
        assert_eq!(zh.status, 200);
        assert!(
            zh.body.contains("预约回电") && zh.body.contains("我的回电预约"),
            "{}",
            zh.body
        );

        // The agent's queue: claim, call, log — in both languages.
        let mut agent =
            crate::help_pages::staff(&app, "agent@example.com", identity::Role::Agent).await;
        let console = agent.get("/agent").await;
        assert!(
            console.body.contains("href=\"/agent/callbacks\""),
            "linked from the console"
        );
        let queue = agent.get("/agent/callbacks").await;
        assert_eq!(queue.status, 200, "{}", queue.body);
        assert!(queue.body.contains("Callback queue"), "{}", queue.body);
        assert!(
            !queue.body.contains("+8613800138000"),
            "masked until claimed"
        );
        let mut customer_page = kim.get("/support/callback").await;
        let id = customer_page
            .body
            .split("data-callback=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        app.travel(
            &id,
            now - 5 * MINUTE_MS,
            now + 25 * MINUTE_MS,
            now - 5 * MINUTE_MS,
        )
        .await;
        let claimed = agent
            .submit(
                "/agent/callbacks",
                &format!("/agent/callbacks/{id}/claim"),
                &[],
            )
            .await;
        assert_eq!(claimed.status, 303, "{}", claimed.body);
        let mine = agent.get("/agent/callbacks?done=claimed").await;
        assert!(mine.body.contains("tel:+8613800138000"), "{}", mine.body);
        let forged = agent
            .post(
                &format!("/agent/callbacks/{id}/attempt"),
                &[("outcome", "reached")],
            )
            .await;
        assert_eq!(forged.status, 403);
        let logged = agent
            .submit(
                "/agent/callbacks",
                &format!("/agent/callbacks/{id}/attempt"),
                &[
                    ("outcome", "reached"),
                    ("notes", "Helped with the deposit."),
                ],
            )
            .await;
        assert_eq!(logged.status, 303, "{}", logged.body);
        assert_eq!(
            agent
                .get("/lang?to=zh-CN&back=/agent/callbacks")
                .await
                .status,
            303
        );
        let zh = agent.get("/agent/callbacks").await;
        assert!(
            zh.body.contains("回电队列") && zh.body.contains("目前没有待回电的客户"),
            "{}",
            zh.body
        );

        customer_page = kim.get("/support/callback").await;
        assert!(
            customer_page.body.contains("data-state=\"done\""),
            "{}",
            customer_page.body
        );
        assert!(
            customer_page.body.contains("已完成回电"),
            "{}",
            customer_page.body
        );

        // Cancel through the page (a new one), and a customer cannot reach the console.
        let page = kim.get("/support/callback").await;
        let slot = page
            .body
            .split("<option value=\"")
            .map(|p| p.split('"').next().unwrap())
            .find(|v| v.contains('|'))
            .unwrap()
            .to_owned();
        let done = kim
            .submit(
                "/support/callback",
                "/support/callback",
                &[
                    ("hotline_id", "always"),
                    ("slot", &slot),
                    ("phone", "13800138000"),
                ],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        let page = kim.get("/support/callback").await;
        let id = page
            .body
            .split("data-state=\"requested\"")
            .next()
            .unwrap()
            .rsplit("data-callback=\"")
            .next()
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        let cancelled = kim
            .submit(
                "/support/callback",
                &format!("/support/callback/{id}/cancel"),
                &[],
            )
            .await;
        assert_eq!(cancelled.status, 303, "{}", cancelled.body);
        assert!(kim
            .get("/support/callback")
            .await
            .body
            .contains("data-state=\"cancelled\""));
        assert_eq!(kim.get("/agent/callbacks").await.status, 403);
    }
);
