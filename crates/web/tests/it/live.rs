//! Live support through the API, on both databases: mutual verification (codes only a real
//! agent can put on a customer's screen, wrong codes counted to a limit even when typed at
//! once, the customer told who verified them), the customer's phone number, and the PBX's
//! signed call events — signatures, replays, duplicates, events out of order, the screen pop
//! with the caller's account, missed calls to call back, blocked numbers, bad input.

use axum::http::StatusCode;
use serde_json::{json, Value};
use testkit::both_backends;

use crate::tickets::{json_of, staff};
use crate::{App, CTI_SECRET};

impl App {
    /// POSTs a PBX event signed now with the shared secret.
    async fn cti(&self, body: Value) -> reqwest::Response {
        let now = store::now_ms() / 1000;
        self.cti_raw(
            "application/json",
            body.to_string().into_bytes(),
            Some(payments::webhook::sign(
                CTI_SECRET.as_bytes(),
                now,
                body.to_string().as_bytes(),
            )),
        )
        .await
    }

    async fn cti_raw(
        &self,
        content_type: &str,
        body: Vec<u8>,
        signature: Option<String>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url("/api/v1/cti/events"))
            .header("content-type", content_type)
            .body(body);
        if let Some(s) = signature {
            request = request.header("Okwallet-Signature", s);
        }
        request.send().await.expect("answers")
    }

    async fn cti_form(&self, form: &str) -> reqwest::Response {
        let now = store::now_ms() / 1000;
        self.cti_raw(
            "application/x-www-form-urlencoded",
            form.as_bytes().to_vec(),
            Some(payments::webhook::sign(
                CTI_SECRET.as_bytes(),
                now,
                form.as_bytes(),
            )),
        )
        .await
    }

    /// An admin, a group, and an online agent: (admin token, agent id, agent token).
    async fn live_desk(&self) -> (String, String, String) {
        let (_, admin) = staff(self, "admin@example.com", identity::Role::Admin).await;
        self.desk_group(&admin, "general").await;
        let (agent_id, agent) = staff(self, "agent@example.com", identity::Role::Agent).await;
        self.desk_agent(&admin, &agent_id, &agent, "general", 5, "online")
            .await;
        (admin, agent_id, agent)
    }
}

fn code_of(list: &Value, id: &str) -> String {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .and_then(|v| v["code"].as_str())
        .expect("the customer sees the code")
        .to_owned()
}

both_backends!(
    an_agent_verifies_a_customer_and_the_customer_sees_who_verified_them,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (admin, _, agent) = app.live_desk().await;
        let customer_id = app.sign_up("carol@example.com").await;
        let carol = app.token("carol@example.com").await;
        app.sign_up("dave@example.com").await;
        let dave = app.token("dave@example.com").await;
        let ticket = app.open_ticket(&carol, "Who am I talking to?").await;

        // Nobody has asked: nothing to read out, so anyone asking for a code is not us.
        let mine = json_of(
            app.get_auth("/api/v1/me/verifications", &carol).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(mine["items"], json!([]));

        // Customers and staff who are not agents cannot put a code on anyone's screen.
        let r = app
            .post_json(
                "/api/v1/verifications",
                json!({"ticket_id": ticket}),
                Some(&dave),
            )
            .await;
        assert_eq!(json_of(r, StatusCode::FORBIDDEN).await["code"], "forbidden");
        let (_, supervisor) = staff(&app, "sup@example.com", identity::Role::Supervisor).await;
        let r = app
            .post_json(
                "/api/v1/verifications",
                json!({"ticket_id": ticket}),
                Some(&supervisor),
            )
            .await;
        assert_eq!(
            json_of(r, StatusCode::CONFLICT).await["code"],
            "not_an_agent"
        );

        // Bad requests.
        let r = app
            .post_json("/api/v1/verifications", json!({}), Some(&agent))
            .await;
        assert_eq!(
            json_of(r, StatusCode::UNPROCESSABLE_ENTITY).await["field"],
            "ticket_id"
        );
        let r = app
            .post_json(
                "/api/v1/verifications",
                json!({"ticket_id": "nope"}),
                Some(&agent),
            )
            .await;
        assert_eq!(json_of(r, StatusCode::NOT_FOUND).await["code"], "not_found");
        let r = app
            .post_json(
                "/api/v1/verifications",
                json!({"ticket_id": ticket, "customer_id": customer_id}),
                Some(&agent),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let r = app
            .post_json(
                "/api/v1/verifications",
                json!({"ticket_id": 5}),
                Some(&agent),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

        let v = json_of(
            app.post_json(
                "/api/v1/verifications",
                json!({"ticket_id": ticket}),
                Some(&agent),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let id = v["id"].as_str().unwrap().to_owned();
        assert_eq!(v["state"], "pending");
        assert_eq!(v["attempts_left"], 5);
        assert_eq!(v["customer_id"], customer_id);
        assert_eq!(v["context"], format!("ticket:{ticket}"));
        assert!(
            v.get("code").is_none(),
            "the agent is never given the code: {v}"
        );

        let mine = json_of(
            app.get_auth("/api/v1/me/verifications", &carol).await,
            StatusCode::OK,
        )
        .await;
        let code = code_of(&mine, &id);
        assert_eq!(code.len(), 6);
        assert!(code.chars().all(|c| c.is_ascii_digit()));
        let badge = mine["items"][0]["agent"]["badge"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            badge.starts_with('A') && badge[1..].parse::<u32>().is_ok(),
            "{badge}"
        );
        assert!(mine["items"][0]["agent"]["name"]
            .as_str()
            .unwrap()
            .starts_with("Agent "));
        let others = json_of(
            app.get_auth("/api/v1/me/verifications", &dave).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(others["items"], json!([]), "another customer sees nothing");

        // Another agent can neither see nor answer this request.
        let (other_id, other) = staff(&app, "agent2@example.com", identity::Role::Agent).await;
        app.desk_agent(&admin, &other_id, &other, "general", 5, "online")
            .await;
        let r = app
            .get_auth(&format!("/api/v1/verifications/{id}"), &other)
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let r = app
            .post_json(
                &format!("/api/v1/verifications/{id}/code"),
                json!({"code": code}),
                Some(&other),
            )
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);

        // A wrong code is counted; a malformed one is not a try.
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let r = app
            .post_json(
                &format!("/api/v1/verifications/{id}/code"),
                json!({"code": wrong}),
                Some(&agent),
            )
            .await;
        let p = json_of(r, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(p["code"], "verification_code_wrong");
        assert_eq!(p["attempts_left"], 4);
        let r = app
            .post_json(
                &format!("/api/v1/verifications/{id}/code"),
                json!({"code": "12"}),
                Some(&agent),
            )
            .await;
        assert_eq!(
            json_of(r, StatusCode::UNPROCESSABLE_ENTITY).await["code"],
            "invalid_field"
        );

        // Read out with a space, in full-width digits: still the code.
        let spoken: String = code
            .chars()
            .enumerate()
            .flat_map(|(i, c)| {
                let wide = char::from_u32(u32::from(c) - u32::from('0') + u32::from('０')).unwrap();
                if i == 3 {
                    vec![' ', wide]
                } else {
                    vec![wide]
                }
            })
            .collect();
        let v = json_of(
            app.post_json(
                &format!("/api/v1/verifications/{id}/code"),
                json!({"code": spoken}),
                Some(&agent),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(v["state"], "verified");
        assert!(v["valid_until"].is_string());

        let mine = json_of(
            app.get_auth("/api/v1/me/verifications", &carol).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(mine["items"][0]["state"], "verified");
        assert_eq!(
            mine["items"][0]["code"],
            Value::Null,
            "a used code is not shown again"
        );
        assert_eq!(mine["items"][0]["agent"]["badge"], badge);

        let r = app
            .post_json(
                &format!("/api/v1/verifications/{id}/code"),
                json!({"code": code}),
                Some(&agent),
            )
            .await;
        assert_eq!(
            json_of(r, StatusCode::CONFLICT).await["code"],
            "verification_not_pending"
        );

        // The customer's security log and the audit trail both record it.
        let events = app
            .state
            .db
            .security_events_for(&customer_id, 20)
            .await
            .unwrap();
        assert!(
            events.iter().any(|e| e.kind == "verified_by_agent"),
            "{events:?}"
        );
        let audit = app
            .state
            .db
            .audit_events_for(&format!("user:{customer_id}"))
            .await
            .unwrap();
        for action in ["verification.requested", "verification.verified"] {
            assert!(
                audit.iter().any(|a| a.action == action),
                "{action}: {audit:?}"
            );
        }
    }
);

both_backends!(
    wrong_codes_fail_a_request_at_the_limit_even_when_typed_at_once,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, _, agent) = app.live_desk().await;
        let customer_id = app.sign_up("erin@example.com").await;
        let erin = app.token("erin@example.com").await;

        let start = || async {
            json_of(
                app.post_json(
                    "/api/v1/verifications",
                    json!({"customer_id": customer_id}),
                    Some(&agent),
                )
                .await,
                StatusCode::CREATED,
            )
            .await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        // A new request from the same agent replaces the one on the customer's screen.
        let first = start().await;
        let second = start().await;
        let mine = json_of(
            app.get_auth("/api/v1/me/verifications", &erin).await,
            StatusCode::OK,
        )
        .await;
        let ids: Vec<&str> = mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec![second.as_str()]);
        let r = app
            .post_json(
                &format!("/api/v1/verifications/{first}/code"),
                json!({"code": "123456"}),
                Some(&agent),
            )
            .await;
        assert_eq!(
            json_of(r, StatusCode::CONFLICT).await["code"],
            "verification_not_pending"
        );

        let code = code_of(&mine, &second);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let mut tries = tokio::task::JoinSet::new();
        for _ in 0..12 {
            let client = app.client.clone();
            let url = app.url(&format!("/api/v1/verifications/{second}/code"));
            let (agent, wrong) = (agent.clone(), wrong.to_owned());
            tries.spawn(async move {
                client
                    .post(url)
                    .json(&json!({"code": wrong}))
                    .bearer_auth(agent)
                    .send()
                    .await
                    .unwrap()
                    .status()
            });
        }
        let mut counted = 0;
        let mut closed = 0;
        while let Some(status) = tries.join_next().await {
            match status.unwrap() {
                StatusCode::UNPROCESSABLE_ENTITY => counted += 1,
                StatusCode::CONFLICT => closed += 1,
                other => panic!("unexpected {other}"),
            }
        }
        assert_eq!(
            (counted, closed),
            (4, 8),
            "four tries are told what is left, then it fails"
        );
        let stored = app.state.db.verification(&second).await.unwrap().unwrap();
        assert_eq!(stored.state, "failed");
        assert_eq!(stored.attempts, 5);
        // Even the right code does nothing now, and the customer's screen is clear.
        let r = app
            .post_json(
                &format!("/api/v1/verifications/{second}/code"),
                json!({"code": code}),
                Some(&agent),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        let mine = json_of(
            app.get_auth("/api/v1/me/verifications", &erin).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(mine["items"], json!([]));

        // An expired request takes no code; a pending one can be withdrawn, once.
        let third = start().await;
        sqlx::query("UPDATE support_verifications SET expires_at_ms = 1 WHERE id = $1")
            .bind(&third)
            .execute(app.state.db.pool())
            .await
            .unwrap();
        let v = json_of(
            app.get_auth(&format!("/api/v1/verifications/{third}"), &agent)
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(v["state"], "expired");
        let r = app
            .post_json(
                &format!("/api/v1/verifications/{third}/code"),
                json!({"code": "123456"}),
                Some(&agent),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        let fourth = start().await;
        let r = app
            .delete_auth(&format!("/api/v1/verifications/{fourth}"), &agent)
            .await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let r = app
            .delete_auth(&format!("/api/v1/verifications/{fourth}"), &agent)
            .await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        let mine = json_of(
            app.get_auth("/api/v1/me/verifications", &erin).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(mine["items"], json!([]));
    }
);

both_backends!(
    pbx_events_are_signed_once_and_make_the_call_log_and_screen_pop,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, agent_id, agent) = app.live_desk().await;
        let customer_id = app.sign_up("frank@example.com").await;
        let frank = app.token("frank@example.com").await;
        app.open_ticket(&frank, "My deposit is late").await;

        // The customer's number, typed the way people type it.
        let r = app
            .put_json(
                "/api/v1/me/phone",
                json!({"phone": "138-0013-8000"}),
                &frank,
            )
            .await;
        assert_eq!(json_of(r, StatusCode::OK).await["phone"], "+8613800138000");
        let r = app
            .put_json("/api/v1/me/phone", json!({"phone": "call me"}), &frank)
            .await;
        assert_eq!(
            json_of(r, StatusCode::UNPROCESSABLE_ENTITY).await["code"],
            "invalid_phone"
        );
        let r = app.get_auth("/api/v1/me/phone", &frank).await;
        assert_eq!(json_of(r, StatusCode::OK).await["phone"], "+8613800138000");

        // The agent's badge is what the PBX names them by.
        let badge = app.state.db.agent_badge(&agent_id).await.unwrap().unwrap();

        // Signatures: none, the wrong secret, too old — refused before anything is stored.
        let body = json!({"event": "newCall", "callId": "c-1", "from": "+86 138 0013 8000",
                          "to": "400-123-4567", "direction": "in", "user": [badge], "queue": "hotline"});
        let text = body.to_string();
        let now = store::now_ms() / 1000;
        let r = app
            .cti_raw("application/json", text.clone().into_bytes(), None)
            .await;
        assert_eq!(
            json_of(r, StatusCode::UNAUTHORIZED).await["code"],
            "invalid_signature"
        );
        let wrong = payments::webhook::sign(b"not-the-secret-at-all", now, text.as_bytes());
        let r = app
            .cti_raw("application/json", text.clone().into_bytes(), Some(wrong))
            .await;
        assert_eq!(
            json_of(r, StatusCode::UNAUTHORIZED).await["code"],
            "invalid_signature"
        );
        let old = payments::webhook::sign(CTI_SECRET.as_bytes(), now - 600, text.as_bytes());
        let r = app
            .cti_raw(
                "application/json",
                text.clone().into_bytes(),
                Some(old.clone()),
            )
            .await;
        assert_eq!(
            json_of(r, StatusCode::UNAUTHORIZED).await["code"],
            "signature_expired"
        );
        let tampered = text.replace("c-1", "c-2");
        let signed_other = payments::webhook::sign(CTI_SECRET.as_bytes(), now, text.as_bytes());
        let r = app
            .cti_raw(
                "application/json",
                tampered.into_bytes(),
                Some(signed_other),
            )
            .await;
        assert_eq!(
            json_of(r, StatusCode::UNAUTHORIZED).await["code"],
            "invalid_signature"
        );
        assert!(app.state.db.cti_events("c-1").await.unwrap().is_empty());

        // The call rings, is answered by the agent, and pops on their screen with the account.
        let ring = json_of(app.cti(body.clone()).await, StatusCode::OK).await;
        assert_eq!(ring["state"], "ringing");
        assert_eq!(ring["duplicate"], false);
        assert!(ring.get("action").is_none());
        let pops = json_of(
            app.get_auth("/api/v1/cti/screen-pops", &agent).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(pops["items"], json!([]), "nothing pops before the answer");
        let t0 = now;
        let answered = json_of(
            app.cti(json!({"event": "answer", "callId": "c-1", "user": badge,
                           "answeringNumber": "8001", "timestamp": t0 + 5}))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(answered["state"], "answered");
        // The PBX sends the same answer again: nothing changes.
        let again = json_of(
            app.cti(json!({"event": "answer", "callId": "c-1", "user": badge,
                           "answeringNumber": "8001", "timestamp": t0 + 5}))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(again["duplicate"], true);
        assert_eq!(app.state.db.cti_events("c-1").await.unwrap().len(), 2);

        let pops = json_of(
            app.get_auth("/api/v1/cti/screen-pops", &agent).await,
            StatusCode::OK,
        )
        .await;
        let pop = &pops["items"][0];
        assert_eq!(pop["call"]["call_id"], "c-1");
        assert_eq!(pop["call"]["number"], "+8613800138000");
        assert_eq!(pop["call"]["agent_id"], agent_id);
        assert_eq!(pop["customer"]["id"], customer_id);
        assert_ne!(
            pop["customer"]["email"], "frank@example.com",
            "masked for agents"
        );
        assert_eq!(pop["customer"]["open_tickets"].as_array().unwrap().len(), 1);
        let audit = app
            .state
            .db
            .audit_events_for(&format!("user:{customer_id}"))
            .await
            .unwrap();
        assert!(
            audit.iter().any(|a| a.action == "customer.viewed"),
            "the pop is a view: {audit:?}"
        );
        // Another agent gets no pop; customers may not ask.
        let (_, other) = staff(&app, "agent2@example.com", identity::Role::Agent).await;
        let pops = json_of(
            app.get_auth("/api/v1/cti/screen-pops", &other).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(pops["items"], json!([]));
        let r = app.get_auth("/api/v1/cti/screen-pops", &frank).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = app.get_auth("/api/v1/cti/calls", &frank).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        // The agent verifies the caller on this call.
        let v = json_of(
            app.post_json(
                "/api/v1/verifications",
                json!({"customer_id": customer_id, "call_id": "c-1"}),
                Some(&agent),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(v["context"], "call:c-1");

        // Transferred, then hung up: the log has the wait and the talk time.
        json_of(
            app.cti(json!({"event": "transfer", "callId": "c-1", "user": ["agent2@example.com"], "timestamp": t0 + 65}))
                .await,
            StatusCode::OK,
        )
        .await;
        let ended = json_of(
            app.cti(json!({"event": "hangup", "callId": "c-1", "cause": "normalClearing", "timestamp": t0 + 125}))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(ended["state"], "ended");
        let pops = json_of(
            app.get_auth("/api/v1/cti/screen-pops", &agent).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(pops["items"], json!([]));
        let log = json_of(
            app.get_auth("/api/v1/cti/calls", &agent).await,
            StatusCode::OK,
        )
        .await;
        let c = &log["items"][0];
        assert_eq!(c["state"], "ended");
        assert_eq!(c["duration_s"], 120);
        assert_eq!(c["cause"], "normalClearing");

        // Events out of order: the hangup arrives before the answer it follows.
        json_of(
            app.cti_form(&format!(
                "event=hangup&callId=c-3&cause=normalClearing&timestamp={}",
                t0 + 40
            ))
            .await,
            StatusCode::OK,
        )
        .await;
        let late = json_of(app.cti_form(&format!(
            "event=newCall&callId=c-3&from=%2B447700900123&to=4001234567&direction=in&user%5B%5D={badge}&timestamp={t0}"))
            .await, StatusCode::OK).await;
        assert_eq!(late["state"], "missed");
        let done = json_of(
            app.cti_form(&format!(
                "event=answer&callId=c-3&user={badge}&timestamp={}",
                t0 + 10
            ))
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(done["state"], "ended");

        // A missed call waits in the call-back list until someone returns it.
        json_of(app.cti(json!({"event": "newCall", "callId": "c-4", "from": "13800138000", "to": "4001234567",
                               "direction": "in", "timestamp": t0})).await, StatusCode::OK).await;
        let missed = json_of(
            app.cti(
                json!({"event": "hangup", "callId": "c-4", "cause": "cancel",
                                            "timestamp": t0 + 30}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(missed["state"], "missed");
        let list = json_of(
            app.get_auth("/api/v1/cti/calls?filter=to_call_back", &agent)
                .await,
            StatusCode::OK,
        )
        .await;
        let ids: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["call_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec!["c-4"]);
        assert_eq!(list["items"][0]["customer_id"], customer_id);
        assert_eq!(list["items"][0]["wait_s"], 30);
        let r = app
            .post_json("/api/v1/cti/calls/c-4/called-back", json!({}), Some(&agent))
            .await;
        assert!(json_of(r, StatusCode::OK).await["called_back_at"].is_string());
        let r = app
            .post_json("/api/v1/cti/calls/c-4/called-back", json!({}), Some(&agent))
            .await;
        assert_eq!(
            json_of(r, StatusCode::UNPROCESSABLE_ENTITY).await["code"],
            "nothing_to_change"
        );
        let r = app
            .post_json("/api/v1/cti/calls/c-1/called-back", json!({}), Some(&agent))
            .await;
        assert_eq!(
            r.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "an answered call is not one to return"
        );
        let r = app
            .post_json(
                "/api/v1/cti/calls/nope/called-back",
                json!({}),
                Some(&agent),
            )
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let list = json_of(
            app.get_auth("/api/v1/cti/calls?filter=to_call_back", &agent)
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(list["items"], json!([]));
        let r = app.get_auth("/api/v1/cti/calls?filter=lost", &agent).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
);

both_backends!(
    blocked_numbers_are_rejected_and_bad_events_are_refused_with_codes,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, _, agent) = app.live_desk().await;
        let (_, supervisor) = staff(&app, "sup@example.com", identity::Role::Supervisor).await;

        // Only supervisors keep the list; any spelling of a number is the same number.
        let r = app
            .put_json(
                "/api/v1/admin/blocked-numbers/13900000000",
                json!({"reason": "scam calls"}),
                &agent,
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let b = json_of(
            app.put_json(
                "/api/v1/admin/blocked-numbers/+86%20139%200000%200000",
                json!({"reason": "scam calls"}),
                &supervisor,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(b["number"], "+8613900000000");
        let r = app
            .put_json(
                "/api/v1/admin/blocked-numbers/not-a-number",
                json!({"reason": "x"}),
                &supervisor,
            )
            .await;
        assert_eq!(
            json_of(r, StatusCode::UNPROCESSABLE_ENTITY).await["code"],
            "invalid_phone"
        );
        let r = app
            .put_json(
                "/api/v1/admin/blocked-numbers/13900000001",
                json!({"reason": " "}),
                &supervisor,
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

        let now = store::now_ms() / 1000;
        let r = json_of(
            app.cti(json!({"event": "newCall", "callId": "b-1", "from": "13900000000", "to": "4001234567",
                           "direction": "in", "timestamp": now}))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            (
                r["action"].as_str(),
                r["reason"].as_str(),
                r["state"].as_str()
            ),
            (Some("reject"), Some("busy"), Some("rejected"))
        );
        json_of(
            app.cti(
                json!({"event": "hangup", "callId": "b-1", "cause": "busy", "timestamp": now + 1}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let list = json_of(
            app.get_auth("/api/v1/cti/calls?filter=to_call_back", &agent)
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            list["items"],
            json!([]),
            "a rejected call is not a missed one"
        );
        let all = json_of(
            app.get_auth("/api/v1/admin/blocked-numbers", &supervisor)
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(all["items"].as_array().unwrap().len(), 1);
        let r = app
            .delete_auth(
                "/api/v1/admin/blocked-numbers/%2B8613900000000",
                &supervisor,
            )
            .await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let r = app
            .delete_auth(
                "/api/v1/admin/blocked-numbers/%2B8613900000000",
                &supervisor,
            )
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);

        // Bad input, signed: each refused with its code, nothing stored.
        let cases: Vec<(Value, StatusCode, &str, Option<&str>)> = vec![
            (
                json!({"event": "newCall", "callId": "x-1", "to": "1", "direction": "in"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                Some("from"),
            ),
            (
                json!({"event": "newCall", "callId": "x-1", "from": "1", "to": "1"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                Some("direction"),
            ),
            (
                json!({"event": "newCall", "callId": "x-1", "from": "1", "to": "1", "direction": "up"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                Some("direction"),
            ),
            (
                json!({"event": "ring", "callId": "x-1"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                Some("event"),
            ),
            (
                json!({"event": "answer"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                Some("callId"),
            ),
            (
                json!({"event": "answer", "callId": ""}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                Some("callId"),
            ),
            (
                json!({"event": "answer", "callId": 7}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                None,
            ),
            (
                json!({"event": "answer", "callId": "x-1", "user": {"a": 1}}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                Some("user"),
            ),
            (
                json!({"event": "answer", "callId": "x-1", "timestamp": "soon"}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                Some("timestamp"),
            ),
            (
                json!({"event": "answer", "callId": "x-1", "timestamp": now + 3600}),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                Some("timestamp"),
            ),
        ];
        for (body, status, code, field) in cases {
            let p = json_of(app.cti(body.clone()).await, status).await;
            assert_eq!(p["code"], code, "{body}");
            if let Some(f) = field {
                assert_eq!(p["field"], f, "{body}");
            }
        }
        let now = store::now_ms() / 1000;
        let broken = b"{\"event\": ".to_vec();
        let sig = payments::webhook::sign(CTI_SECRET.as_bytes(), now, &broken);
        let r = app.cti_raw("application/json", broken, Some(sig)).await;
        assert_eq!(
            json_of(r, StatusCode::BAD_REQUEST).await["code"],
            "malformed_json"
        );
        let huge = format!(
            "{{\"event\":\"answer\",\"callId\":\"{}\"}}",
            "x".repeat(40_000)
        )
        .into_bytes();
        let sig = payments::webhook::sign(CTI_SECRET.as_bytes(), now, &huge);
        let r = app.cti_raw("application/json", huge, Some(sig)).await;
        assert_eq!(
            json_of(r, StatusCode::PAYLOAD_TOO_LARGE).await["code"],
            "body_too_large"
        );
        let plain = b"event=answer".to_vec();
        let sig = payments::webhook::sign(CTI_SECRET.as_bytes(), now, &plain);
        let r = app.cti_raw("text/plain", plain, Some(sig)).await;
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(app.state.db.cti_events("x-1").await.unwrap().is_empty());
        let log = json_of(
            app.get_auth("/api/v1/cti/calls", &agent).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            log["items"].as_array().unwrap().len(),
            1,
            "only the blocked call: {log}"
        );
    }
);

/// The text between `start` and the next `<` after it.
fn between<'a>(body: &'a str, start: &str) -> &'a str {
    let at = body
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {body}"))
        + start.len();
    &body[at..at + body[at..].find('<').unwrap()]
}

both_backends!(
    verification_through_the_pages_from_the_console_to_the_customers_screen,
    |backend| async move {
        use crate::accounts::STRONG;
        use crate::pages::Browser;

        let app = App::spawn(backend).await;
        let (_, admin) = staff(&app, "admin@example.com", identity::Role::Admin).await;
        app.desk_group(&admin, "general").await;
        let mut agent =
            crate::help_pages::staff(&app, "agent@example.com", identity::Role::Agent).await;
        let agent_id = app
            .state
            .db
            .user_by_email(&identity::Email::parse("agent@example.com").unwrap())
            .await
            .unwrap()
            .unwrap()
            .id;
        json_of(
            app.put_json(
                &format!("/api/v1/admin/agents/{agent_id}"),
                json!({"display_name": "李娜", "group_id": "general", "capacity": 5,
                       "languages": ["zh-CN", "en"]}),
                &admin,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let (_, gina_token) = app.customer("gina@example.com").await;
        let mut gina = Browser::new(&app);
        assert_eq!(gina.log_in("gina@example.com", STRONG).await.status, 303);
        let ticket = app.open_ticket(&gina_token, "Is this call real?").await;

        let support = gina.get("/support").await;
        assert!(
            support.body.contains("data-verify-none"),
            "{}",
            support.body
        );

        let page = agent.get(&format!("/agent/tickets/{ticket}")).await;
        assert!(
            page.body
                .contains(&format!("action=\"/agent/tickets/{ticket}/verify\"")),
            "{}",
            page.body
        );
        let started = agent
            .submit(
                &format!("/agent/tickets/{ticket}"),
                &format!("/agent/tickets/{ticket}/verify"),
                &[],
            )
            .await;
        assert_eq!(started.status, 303, "{}", started.body);
        let page = agent.get(&format!("/agent/tickets/{ticket}")).await;
        assert!(
            page.body.contains("data-verify-state=\"pending\""),
            "{}",
            page.body
        );
        assert!(
            !page.body.contains("data-code"),
            "the console never shows the code"
        );
        let verification = between(&page.body, "name=\"verification\" value=\"")
            .split('"')
            .next()
            .unwrap()
            .to_owned();

        let support = gina.get("/support").await;
        assert!(
            support.body.contains("data-state=\"pending\""),
            "{}",
            support.body
        );
        assert!(support.body.contains("李娜"));
        let code = between(&support.body, "data-code>").to_owned();
        assert_eq!(code.len(), 6, "{code}");

        let wrong = if code == "000000" { "111111" } else { "000000" };
        let refused = agent
            .submit(
                &format!("/agent/tickets/{ticket}"),
                &format!("/agent/tickets/{ticket}/verify/code"),
                &[("verification", &verification), ("code", wrong)],
            )
            .await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert!(
            refused.body.contains("Tries left: 4") || refused.body.contains("剩余尝试次数：4"),
            "{}",
            refused.body
        );

        let done = agent
            .submit(
                &format!("/agent/tickets/{ticket}"),
                &format!("/agent/tickets/{ticket}/verify/code"),
                &[("verification", &verification), ("code", &code)],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        let page = agent
            .get(&format!("/agent/tickets/{ticket}?done=verified"))
            .await;
        assert!(page.body.contains("data-verified"), "{}", page.body);

        let support = gina.get("/support").await;
        assert!(
            support.body.contains("data-state=\"verified\""),
            "{}",
            support.body
        );
        let badge = app.state.db.agent_badge(&agent_id).await.unwrap().unwrap();
        assert_eq!(between(&support.body, "data-agent-badge>"), badge);
        assert_eq!(between(&support.body, "data-agent-name>"), "李娜");

        // A verification of another customer cannot be answered from this ticket.
        let (_, hal_token) = app.customer("hal@example.com").await;
        let other_ticket = app.open_ticket(&hal_token, "Other").await;
        let r = agent
            .submit(
                &format!("/agent/tickets/{other_ticket}"),
                &format!("/agent/tickets/{other_ticket}/verify/code"),
                &[("verification", &verification), ("code", &code)],
            )
            .await;
        assert_eq!(r.status, 404);
        // Without the CSRF token nothing happens.
        let r = agent
            .post(&format!("/agent/tickets/{ticket}/verify"), &[])
            .await;
        assert_eq!(r.status, 403, "{}", r.body);
    }
);

both_backends!(
    the_console_pops_the_caller_and_keeps_the_call_log,
    |backend| async move {
        use crate::accounts::STRONG;
        use crate::pages::Browser;

        let app = App::spawn(backend).await;
        let (_, admin) = staff(&app, "admin@example.com", identity::Role::Admin).await;
        app.desk_group(&admin, "general").await;
        let mut agent =
            crate::help_pages::staff(&app, "agent@example.com", identity::Role::Agent).await;
        let agent_id = app
            .state
            .db
            .user_by_email(&identity::Email::parse("agent@example.com").unwrap())
            .await
            .unwrap()
            .unwrap()
            .id;
        json_of(
            app.put_json(
                &format!("/api/v1/admin/agents/{agent_id}"),
                json!({"display_name": "Lee", "group_id": "general", "capacity": 5, "languages": ["en"]}),
                &admin,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let badge = app.state.db.agent_badge(&agent_id).await.unwrap().unwrap();
        let (ivy_id, ivy_token) = app.customer("ivy@example.com").await;
        app.put_json(
            "/api/v1/me/phone",
            json!({"phone": "+44 7700 900123"}),
            &ivy_token,
        )
        .await;
        let ticket = app.open_ticket(&ivy_token, "Withdrawal stuck").await;
        let mut ivy = Browser::new(&app);
        assert_eq!(ivy.log_in("ivy@example.com", STRONG).await.status, 303);

        let console = agent.get("/agent").await;
        assert!(console.body.contains("data-pops=\"0\""), "{}", console.body);

        let now = store::now_ms() / 1000;
        json_of(app.cti(json!({"event": "newCall", "callId": "p-1", "from": "+447700900123", "to": "4001234567",
                               "direction": "in", "timestamp": now - 20})).await, StatusCode::OK).await;
        json_of(
            app.cti(
                json!({"event": "answer", "callId": "p-1", "user": badge, "timestamp": now - 10}),
            )
            .await,
            StatusCode::OK,
        )
        .await;

        let console = agent.get("/agent").await;
        assert!(
            console.body.contains("data-pop=\"p-1\""),
            "{}",
            console.body
        );
        assert!(
            !console.body.contains("ivy@example.com"),
            "the email is masked"
        );
        assert!(
            !console.body.contains("+447700900123"),
            "the number is masked"
        );
        assert!(
            console.body.contains(&format!("/agent/tickets/{ticket}")),
            "the caller's open ticket"
        );
        // Refreshing the console does not write an audit row each time.
        agent.get("/agent").await;
        let audit = app
            .state
            .db
            .audit_events_for(&format!("user:{ivy_id}"))
            .await
            .unwrap();
        let pops = audit
            .iter()
            .filter(|a| a.detail.contains("screen_pop"))
            .count();
        assert_eq!(pops, 1, "{audit:?}");

        // A ticket for the caller, opened from the pop.
        let opened = agent.submit("/agent", "/agent/calls/p-1/ticket", &[]).await;
        assert_eq!(opened.status, 303, "{}", opened.body);
        let new_id = opened
            .location
            .unwrap()
            .trim_start_matches("/agent/tickets/")
            .to_owned();
        let t = app.state.db.ticket(&new_id).await.unwrap().unwrap();
        assert_eq!(
            (t.requester_id.as_str(), t.channel.as_str()),
            (ivy_id.as_str(), "phone")
        );
        // The customer sees it among their tickets.
        assert!(ivy.get("/support").await.body.contains(&new_id));
        // Nobody else's call: another agent cannot open a ticket from it.
        let mut other =
            crate::help_pages::staff(&app, "agent2@example.com", identity::Role::Agent).await;
        assert_eq!(
            other
                .submit("/agent", "/agent/calls/p-1/ticket", &[])
                .await
                .status,
            404
        );

        json_of(app.cti(json!({"event": "hangup", "callId": "p-1", "cause": "normalClearing", "timestamp": now})).await, StatusCode::OK).await;
        assert!(agent.get("/agent").await.body.contains("data-pops=\"0\""));

        // A missed call: listed with its full number to return, marked, gone.
        json_of(app.cti(json!({"event": "newCall", "callId": "p-2", "from": "+8613700001111", "to": "4001234567",
                               "direction": "in", "timestamp": now - 5})).await, StatusCode::OK).await;
        json_of(
            app.cti(
                json!({"event": "hangup", "callId": "p-2", "cause": "cancel", "timestamp": now}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert!(agent
            .get("/agent")
            .await
            .body
            .contains("data-to-call-back=\"1\""));
        let log = agent.get("/agent/calls").await;
        assert_eq!(log.status, 200);
        assert!(log.body.contains("+8613700001111"), "{}", log.body);
        assert!(log.body.contains("data-call=\"p-1\""));
        let marked = agent
            .submit("/agent/calls", "/agent/calls/p-2/called-back", &[])
            .await;
        assert_eq!(marked.status, 303);
        let log = agent.get("/agent/calls").await;
        assert!(
            !log.body.contains("data-call=\"p-2\" data-state=\"missed\""),
            "{}",
            log.body
        );
        assert!(!agent.get("/agent").await.body.contains("data-to-call-back"));
        // Customers cannot open the call log.
        assert_eq!(ivy.get("/agent/calls").await.status, 403);
    }
);

both_backends!(
    secrets_typed_into_tickets_are_hidden_before_they_are_stored,
    |backend| async move {
        use crate::accounts::STRONG;
        use crate::pages::Browser;

        let app = App::spawn(backend).await;
        let (_, _, agent) = app.live_desk().await;
        let jin_id = app.sign_up("jin@example.com").await;
        let jin = app.token("jin@example.com").await;
        // The BIP-39 test phrase, and a test card number.
        let phrase = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
        let opened = json_of(
            app.post_json(
                "/api/v1/tickets",
                json!({"subject": "Card 4111 1111 1111 1111 charged twice",
                       "body": format!("客服你好，我的助记词是 {phrase}，请帮我看看 2024年12月5日 充值的 100 USDT，订单号 2024120512345。"),
                       "category": "funds_delayed"}),
                Some(&jin),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(
            opened["masked"],
            json!(["seed_phrase", "card_number"]),
            "{opened}"
        );
        let id = opened["id"].as_str().unwrap().to_owned();
        let stored = app.state.db.ticket(&id).await.unwrap().unwrap();
        assert_eq!(stored.subject, "Card •••• •••• •••• 1111 charged twice");
        let seen = app.staff_view(&agent, &id).await;
        let body = seen["messages"][0]["body"].as_str().unwrap();
        assert!(!body.contains("abandon"), "{body}");
        assert!(body.contains("••••••"), "{body}");
        // The rest stays exactly as written: dates, amounts, order numbers.
        assert!(
            body.contains("请帮我看看 2024年12月5日 充值的 100 USDT，订单号 2024120512345。"),
            "{body}"
        );
        let events = app.state.db.security_events_for(&jin_id, 20).await.unwrap();
        let e = events
            .iter()
            .find(|e| e.kind == "secret_masked")
            .expect("a security event");
        assert!(
            e.detail.contains("seed_phrase") && e.detail.contains("\"customer\""),
            "{}",
            e.detail
        );

        // An agent's note with a customer's one-time code: hidden too.
        let noted = json_of(
            app.post_json(
                &format!("/api/v1/tickets/{id}/messages"),
                json!({"body": "Customer read out 验证码 493027 on the phone", "internal": true}),
                Some(&agent),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(noted["masked"], json!(["one_time_code"]));
        let seen = app.staff_view(&agent, &id).await;
        let notes: Vec<&str> = seen["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["body"].as_str())
            .collect();
        assert!(notes.iter().all(|b| !b.contains("493027")), "{notes:?}");
        // A reply without secrets says nothing about masking.
        let plain = json_of(
            app.post_json(
                &format!("/api/v1/tickets/{id}/messages"),
                json!({"body": "Tx 0x9f2c… is the one, thanks"}),
                Some(&jin),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert!(plain.get("masked").is_none(), "{plain}");
        let mine = json_of(
            app.get_auth(&format!("/api/v1/tickets/{id}"), &jin).await,
            StatusCode::OK,
        )
        .await;
        let mine = mine["messages"].to_string();
        assert!(
            !mine.contains("493027") && !mine.contains("abandon abandon"),
            "{mine}"
        );

        // The page tells the customer what happened and that staff never ask.
        let mut page = Browser::new(&app);
        assert_eq!(page.log_in("jin@example.com", STRONG).await.status, 303);
        let sent = page
            .submit(
                &format!("/support/tickets/{id}"),
                &format!("/support/tickets/{id}/reply"),
                &[(
                    "body",
                    "my key 0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
                )],
            )
            .await;
        assert_eq!(sent.status, 303, "{}", sent.body);
        let location = sent.location.unwrap();
        assert!(location.contains("masked=1"), "{location}");
        let shown = page.get(&location).await;
        assert!(shown.body.contains("data-masked"), "{}", shown.body);
        assert!(!shown.body.contains("4c0883a69102937d"), "{}", shown.body);
    }
);
