//! Live chat through the API and its WebSocket, on both databases: no dead waits, routing to an
//! agent, the queue position while waiting, ordering, resume after a dropped connection without
//! loss or duplicates, typing and read marks, secrets hidden, nobody joining a chat that is not
//! theirs, and the end with the transcript on the ticket.

use std::time::Duration;

use axum::http::StatusCode;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use testkit::both_backends;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::tickets::{json_of, staff};
use crate::App;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a chat's WebSocket on the node at `base` as `token`'s owner, resuming after `after`.
async fn ws_at(base: &str, chat: &str, token: &str, after: i64) -> Result<Socket, u16> {
    let url = format!(
        "{}/api/v1/chats/{chat}/ws?after={after}",
        base.replacen("http", "ws", 1)
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

impl App {
    /// Opens a chat's WebSocket on this node.
    async fn chat_ws(&self, chat: &str, token: &str, after: i64) -> Result<Socket, u16> {
        ws_at(&self.url(""), chat, token, after).await
    }

    async fn start_chat(&self, token: &str, message: &str) -> reqwest::Response {
        self.post_json(
            "/api/v1/chats",
            json!({"category": "funds_delayed", "message": message}),
            Some(token),
        )
        .await
    }
}

/// The next frame, within five seconds.
async fn frame(ws: &mut Socket) -> Value {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a frame within five seconds")
            .expect("the socket is open")
            .expect("a good frame");
        if let Message::Text(t) = next {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

/// The next frame of `kind`, skipping others (returned too, in order).
async fn frame_of(ws: &mut Socket, kind: &str) -> (Value, Vec<Value>) {
    let mut skipped = Vec::new();
    loop {
        let f = frame(ws).await;
        if f["type"] == kind {
            return (f, skipped);
        }
        skipped.push(f);
    }
}

async fn send(ws: &mut Socket, frame: Value) {
    ws.send(Message::Text(frame.to_string().into()))
        .await
        .unwrap();
}

/// Nothing arrives for a moment.
async fn quiet(ws: &mut Socket) {
    if let Ok(Some(Ok(Message::Text(t)))) =
        tokio::time::timeout(Duration::from_millis(300), ws.next()).await
    {
        panic!("unexpected frame {t}");
    }
}

/// An admin with a group, and an online agent with `capacity`: (admin, agent id, agent token).
async fn desk(app: &App, capacity: i64) -> (String, String, String) {
    let (_, admin) = staff(app, "admin@example.com", identity::Role::Admin).await;
    app.desk_group(&admin, "general").await;
    let (agent_id, agent) = staff(app, "agent@example.com", identity::Role::Agent).await;
    app.desk_agent(&admin, &agent_id, &agent, "general", capacity, "online")
        .await;
    (admin, agent_id, agent)
}

both_backends!(
    a_chat_flows_in_order_survives_a_dropped_connection_and_ends_on_the_ticket,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, kim_token) = app.customer("kim@example.com").await;

        // Nobody online: no dead wait.
        let (_, admin) = staff(&app, "admin@example.com", identity::Role::Admin).await;
        app.desk_group(&admin, "general").await;
        let r = app.start_chat(&kim_token, "hello").await;
        assert_eq!(
            json_of(r, StatusCode::CONFLICT).await["code"],
            "chat_unavailable"
        );
        let (agent_id, agent) = staff(&app, "agent@example.com", identity::Role::Agent).await;
        app.desk_agent(&admin, &agent_id, &agent, "general", 5, "online")
            .await;
        let r = app
            .post_json(
                "/api/v1/chats",
                json!({"category": "nonsense"}),
                Some(&kim_token),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let r = app
            .post_json("/api/v1/chats", json!({}), Some(&agent))
            .await;
        assert_eq!(
            r.status(),
            StatusCode::FORBIDDEN,
            "staff do not start chats"
        );

        let chat = json_of(
            app.start_chat(&kim_token, "My ETH deposit is late").await,
            StatusCode::CREATED,
        )
        .await;
        let id = chat["id"].as_str().unwrap().to_owned();
        assert_eq!(chat["state"], "active", "routed at once: {chat}");
        assert_eq!(chat["queue_position"], 0);
        assert!(chat["agent"]["badge"].as_str().unwrap().starts_with('A'));
        let held = json_of(
            app.get_auth("/api/v1/agent/chats", &agent).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(held["items"][0]["id"], id);

        // Nobody else joins: another customer, another agent — as if it did not exist.
        let (_, lee_token) = app.customer("lee@example.com").await;
        assert_eq!(app.chat_ws(&id, &lee_token, 0).await.err(), Some(404));
        let (_, other_agent) = staff(&app, "agent2@example.com", identity::Role::Agent).await;
        assert_eq!(app.chat_ws(&id, &other_agent, 0).await.err(), Some(404));
        assert_eq!(app.chat_ws("nope", &kim_token, 0).await.err(), Some(404));
        assert_eq!(
            app.get_auth(&format!("/api/v1/chats/{id}"), &lee_token)
                .await
                .status(),
            StatusCode::NOT_FOUND
        );

        let mut kim = app.chat_ws(&id, &kim_token, 0).await.unwrap();
        let hello = frame(&mut kim).await;
        assert_eq!(
            (hello["type"].as_str(), hello["you"].as_str()),
            (Some("hello"), Some("customer"))
        );
        let first = frame(&mut kim).await;
        assert_eq!(
            (first["seq"].as_i64(), first["body"].as_str()),
            (Some(1), Some("My ETH deposit is late"))
        );
        let mut ag = app.chat_ws(&id, &agent, 0).await.unwrap();
        assert_eq!(frame(&mut ag).await["you"], "agent");
        assert_eq!(frame(&mut ag).await["seq"], 1);

        // Typing and a reply.
        send(&mut ag, json!({"type": "typing"})).await;
        let (typing, _) = frame_of(&mut kim, "typing").await;
        assert_eq!(typing["from"], "agent");
        send(
            &mut ag,
            json!({"type": "send", "client_id": "a1", "body": "Let me look at it."}),
        )
        .await;
        let (ack, _) = frame_of(&mut ag, "ack").await;
        assert_eq!(
            (ack["seq"].as_i64(), ack["duplicate"].as_bool()),
            (Some(2), Some(false))
        );
        let (own, _) = frame_of(&mut ag, "message").await;
        assert_eq!(own["seq"], 2, "a sender gets its own message in order too");
        let (reply, _) = frame_of(&mut kim, "message").await;
        assert_eq!(reply["from"], "agent");
        assert_eq!(
            reply["author_name"],
            format!("Agent {}", &agent_id[agent_id.len() - 4..])
        );

        // Twenty messages at once arrive once each, in order.
        for i in 0..20 {
            send(
                &mut kim,
                json!({"type": "send", "client_id": format!("k{i}"), "body": format!("line {i}")}),
            )
            .await;
        }
        let mut seen = Vec::new();
        while seen.len() < 20 {
            let (m, _) = frame_of(&mut ag, "message").await;
            seen.push((
                m["seq"].as_i64().unwrap(),
                m["body"].as_str().unwrap().to_owned(),
            ));
        }
        let expected: Vec<(i64, String)> = (0..20).map(|i| (3 + i, format!("line {i}"))).collect();
        assert_eq!(seen, expected);
        send(&mut ag, json!({"type": "read", "seq": 22})).await;
        let (read, before_read) = frame_of(&mut kim, "read").await;
        assert_eq!(
            (read["from"].as_str(), read["seq"].as_i64()),
            (Some("agent"), Some(22))
        );

        // Kim's connection drops; the agent writes meanwhile; Kim resumes after what she saw.
        let mut last = before_read
            .iter()
            .filter(|f| f["type"] == "message")
            .filter_map(|f| f["seq"].as_i64())
            .max()
            .unwrap_or(0);
        while last < 22 {
            let (m, _) = frame_of(&mut kim, "message").await;
            last = m["seq"].as_i64().unwrap();
        }
        drop(kim);
        for i in 0..2 {
            send(&mut ag, json!({"type": "send", "client_id": format!("b{i}"), "body": format!("meanwhile {i}")})).await;
            frame_of(&mut ag, "ack").await;
        }
        // The agent's own copies of what it sent.
        loop {
            let (m, _) = frame_of(&mut ag, "message").await;
            if m["seq"] == 24 {
                break;
            }
        }
        let mut kim = app.chat_ws(&id, &kim_token, last).await.unwrap();
        frame_of(&mut kim, "hello").await;
        let a = frame(&mut kim).await;
        let b = frame(&mut kim).await;
        assert_eq!(
            (a["seq"].as_i64(), a["body"].as_str()),
            (Some(23), Some("meanwhile 0"))
        );
        assert_eq!(
            (b["seq"].as_i64(), b["body"].as_str()),
            (Some(24), Some("meanwhile 1"))
        );
        quiet(&mut kim).await;
        // She resends her last message, unsure it arrived: acknowledged, not stored again.
        send(
            &mut kim,
            json!({"type": "send", "client_id": "k19", "body": "line 19"}),
        )
        .await;
        let (ack, _) = frame_of(&mut kim, "ack").await;
        assert_eq!(
            (ack["seq"].as_i64(), ack["duplicate"].as_bool()),
            (Some(22), Some(true))
        );
        quiet(&mut ag).await;

        // A recovery phrase never reaches the agent.
        let phrase = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
        send(
            &mut kim,
            json!({"type": "send", "client_id": "s1", "body": format!("my phrase is {phrase}")}),
        )
        .await;
        let (ack, _) = frame_of(&mut kim, "ack").await;
        assert_eq!(ack["masked"], json!(["seed_phrase"]));
        let (notice, _) = frame_of(&mut kim, "notice").await;
        assert_eq!(notice["code"], "secret_masked");
        let (m, _) = frame_of(&mut ag, "message").await;
        assert_eq!(m["body"], "my phrase is ••••••");

        // A read mark for a message never shown is refused; typing storms are thinned.
        send(&mut kim, json!({"type": "read", "seq": 999})).await;
        assert_eq!(frame_of(&mut kim, "error").await.0["code"], "invalid_frame");
        for _ in 0..20 {
            send(&mut kim, json!({"type": "typing"})).await;
        }
        let (typing, _) = frame_of(&mut ag, "typing").await;
        assert_eq!(typing["from"], "customer");
        quiet(&mut ag).await;

        // Bad frames are answered, not fatal.
        send(&mut kim, json!({"type": "shout"})).await;
        assert_eq!(frame_of(&mut kim, "error").await.0["code"], "invalid_frame");
        send(
            &mut kim,
            json!({"type": "send", "client_id": "", "body": "x"}),
        )
        .await;
        assert_eq!(frame_of(&mut kim, "error").await.0["code"], "invalid_frame");
        send(
            &mut kim,
            json!({"type": "send", "client_id": "big", "body": "x".repeat(4_001)}),
        )
        .await;
        assert_eq!(frame_of(&mut kim, "error").await.0["code"], "invalid_frame");

        // Kim ends it: both sides hear it, nothing more is taken, the transcript is on the ticket.
        send(&mut kim, json!({"type": "end"})).await;
        frame_of(&mut kim, "ended").await;
        frame_of(&mut ag, "ended").await;
        send(
            &mut ag,
            json!({"type": "send", "client_id": "late", "body": "anything else?"}),
        )
        .await;
        assert_eq!(frame_of(&mut ag, "error").await.0["code"], "chat_ended");
        let full = json_of(
            app.get_auth(&format!("/api/v1/chats/{id}"), &kim_token)
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(full["state"], "ended");
        let seqs: Vec<i64> = full["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["seq"].as_i64().unwrap())
            .collect();
        assert_eq!(seqs, (1..=26).collect::<Vec<_>>(), "gapless, once each");
        let ticket = app
            .staff_view(&agent, full["ticket_id"].as_str().unwrap())
            .await;
        assert_eq!(ticket["channel"], "chat");
        let note = ticket["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["internal"] == true)
            .expect("the transcript");
        let text = note["body"].as_str().unwrap();
        assert!(
            text.contains("meanwhile 1")
                && text.contains("••••••")
                && !text.contains("abandon about"),
            "{text}"
        );
    }
);

both_backends!(
    waiting_customers_see_their_place_and_are_served_in_order,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, _, agent) = desk(&app, 1).await;
        let mut customers = Vec::new();
        for name in ["ann", "ben", "cal"] {
            let (_, token) = app.customer(&format!("{name}@example.com")).await;
            let chat = json_of(
                app.start_chat(&token, &format!("{name} here")).await,
                StatusCode::CREATED,
            )
            .await;
            customers.push((token, chat));
        }
        assert_eq!(customers[0].1["state"], "active");
        assert_eq!(
            (
                customers[1].1["state"].as_str(),
                customers[1].1["queue_position"].as_i64()
            ),
            (Some("waiting"), Some(1))
        );
        assert_eq!(customers[2].1["queue_position"], 2);
        assert!(
            customers[2].1["eta_s"].as_i64().unwrap() > customers[1].1["eta_s"].as_i64().unwrap()
        );

        let ben_chat = customers[1].1["id"].as_str().unwrap().to_owned();
        let cal_chat = customers[2].1["id"].as_str().unwrap().to_owned();
        let mut ben = app.chat_ws(&ben_chat, &customers[1].0, 0).await.unwrap();
        let mut cal = app.chat_ws(&cal_chat, &customers[2].0, 0).await.unwrap();
        let (q, _) = frame_of(&mut cal, "queue").await;
        assert_eq!(q["position"], 2);
        // The agent is not Ben's yet: he cannot join Ben's chat.
        assert_eq!(app.chat_ws(&ben_chat, &agent, 0).await.err(), Some(404));

        // The agent solves Ann's ticket: Ben is served, Cal moves up.
        let ann_ticket = customers[0].1["ticket_id"].as_str().unwrap();
        json_of(
            app.patch_json(
                &format!("/api/v1/tickets/{ann_ticket}"),
                json!({"status": "solved"}),
                &agent,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let (joined, _) = frame_of(&mut ben, "agent").await;
        assert!(joined["badge"].as_str().unwrap().starts_with('A'));
        let (q, _) = frame_of(&mut cal, "queue").await;
        assert_eq!(q["position"], 1);
        let mut ag = app.chat_ws(&ben_chat, &agent, 0).await.unwrap();
        frame_of(&mut ag, "hello").await;
        let (m, _) = frame_of(&mut ag, "message").await;
        assert_eq!(m["body"], "ben here");
    }
);

#[tokio::test]
async fn a_customer_on_one_node_chats_with_an_agent_on_another() {
    // Several nodes share one PostgreSQL (SQLite is one node by design).
    let app = App::spawn(testkit::Backend::Postgres).await;
    let (_, _, agent) = desk(&app, 3).await;
    let (_, mia_token) = app.customer("mia@example.com").await;
    let chat = json_of(
        app.start_chat(&mia_token, "Hello from node A").await,
        StatusCode::CREATED,
    )
    .await;
    let id = chat["id"].as_str().unwrap().to_owned();
    let (node_b, _stop_b) = app.second_node().await;

    let mut mia = app.chat_ws(&id, &mia_token, 0).await.unwrap();
    let mut ag = ws_at(&node_b, &id, &agent, 0).await.unwrap();
    frame_of(&mut mia, "hello").await;
    frame_of(&mut ag, "hello").await;
    assert_eq!(
        frame_of(&mut ag, "message").await.0["body"],
        "Hello from node A"
    );
    assert_eq!(frame_of(&mut mia, "message").await.0["seq"], 1);

    for i in 0..10 {
        send(
            &mut ag,
            json!({"type": "send", "client_id": format!("b{i}"), "body": format!("from B {i}")}),
        )
        .await;
        send(
            &mut mia,
            json!({"type": "send", "client_id": format!("a{i}"), "body": format!("from A {i}")}),
        )
        .await;
    }
    send(&mut ag, json!({"type": "typing"})).await;
    // Each side sees all 21 messages, in one order, once.
    let mut orders = Vec::new();
    for ws in [&mut mia, &mut ag] {
        let mut seen = vec![1];
        while seen.len() < 21 {
            let (m, _) = frame_of(ws, "message").await;
            seen.push(m["seq"].as_i64().unwrap());
        }
        orders.push(seen);
    }
    assert_eq!(orders[0], (1..=21).collect::<Vec<_>>());
    assert_eq!(orders[0], orders[1]);
    let (typing, _) = frame_of(&mut mia, "typing").await;
    assert_eq!(typing["from"], "agent", "typing crosses nodes too");
}

both_backends!(
    an_in_app_call_rings_is_answered_signals_both_ways_and_leaves_a_record,
    |backend| async move {
        let app = App::spawn(backend).await;
        let (_, _, agent) = desk(&app, 5).await;
        let (_, kim) = app.customer("kim@example.com").await;
        let r = app
            .post_json("/api/v1/chats", json!({"media": "video"}), Some(&kim))
            .await;
        assert_eq!(
            json_of(r, StatusCode::UNPROCESSABLE_ENTITY).await["field"],
            "media"
        );
        let call = json_of(
            app.post_json(
                "/api/v1/chats",
                json!({"media": "voice", "category": "cannot_trade"}),
                Some(&kim),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let id = call["id"].as_str().unwrap().to_owned();
        assert_eq!(call["media"], "voice");
        assert_eq!(call["call"]["state"], "ringing", "{call}");
        assert!(call["call"].get("notes").is_none(), "notes are staff only");
        let ticket = app
            .staff_view(&agent, call["ticket_id"].as_str().unwrap())
            .await;
        assert_eq!(ticket["channel"], "in_app_call");

        let mut customer = app.chat_ws(&id, &kim, 0).await.unwrap();
        let hello = frame(&mut customer).await;
        assert_eq!(hello["type"], "hello");
        assert_eq!(
            hello["ice_servers"],
            json!([{"urls": ["stun:stun.example.com:3478"]}]),
            "the operator's ICE servers reach the browsers"
        );
        let (state, _) = frame_of(&mut customer, "call").await;
        assert_eq!(state["state"], "ringing");

        // Nothing is signalled before the agent picks up, and only the agent picks up.
        send(
            &mut customer,
            json!({"type": "signal", "data": {"description": {"type": "offer", "sdp": "v=0"}}}),
        )
        .await;
        let (e, _) = frame_of(&mut customer, "error").await;
        assert_eq!(e["code"], "call_not_connected");
        send(&mut customer, json!({"type": "answer"})).await;
        let (e, _) = frame_of(&mut customer, "error").await;
        assert_eq!(e["code"], "invalid_frame");

        let mut staff_ws = app.chat_ws(&id, &agent, 0).await.unwrap();
        let (state, _) = frame_of(&mut staff_ws, "call").await;
        assert_eq!(state["state"], "ringing");
        send(&mut staff_ws, json!({"type": "answer"})).await;
        let (state, _) = frame_of(&mut staff_ws, "call").await;
        assert_eq!(state["state"], "connected");
        let (state, _) = frame_of(&mut customer, "call").await;
        assert_eq!(state["state"], "connected");
        send(&mut staff_ws, json!({"type": "answer"})).await;
        let (e, _) = frame_of(&mut staff_ws, "error").await;
        assert_eq!(e["code"], "call_not_ringing", "picked up once");
        let t = app
            .state
            .db
            .ticket(call["ticket_id"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(
            t.first_responded_at_ms.is_some(),
            "picking up is the first response"
        );
        assert_eq!(t.status, "open");

        // Signals cross in order, each to the other side only.
        let offer = json!({"description": {"type": "offer", "sdp": "v=0 offer"}});
        send(&mut customer, json!({"type": "signal", "data": offer})).await;
        for n in 0..3 {
            send(
                &mut customer,
                json!({"type": "signal", "data": {"candidate": {"candidate": format!("c{n}")}}}),
            )
            .await;
        }
        let (s, _) = frame_of(&mut staff_ws, "signal").await;
        assert_eq!(
            (s["from"].clone(), s["data"].clone()),
            (json!("customer"), offer)
        );
        for n in 0..3 {
            let (s, _) = frame_of(&mut staff_ws, "signal").await;
            assert_eq!(s["data"]["candidate"]["candidate"], format!("c{n}"));
        }
        let answer = json!({"description": {"type": "answer", "sdp": "v=0 answer"}});
        send(&mut staff_ws, json!({"type": "signal", "data": answer})).await;
        let (s, skipped) = frame_of(&mut customer, "signal").await;
        assert_eq!(
            (s["from"].clone(), s["data"].clone()),
            (json!("agent"), answer)
        );
        assert!(
            skipped.iter().all(|f| f["type"] != "signal"),
            "the customer never gets their own signals back: {skipped:?}"
        );
        // Bad signals: not an object, too big.
        send(&mut customer, json!({"type": "signal", "data": "offer"})).await;
        let (e, _) = frame_of(&mut customer, "error").await;
        assert_eq!(e["code"], "invalid_frame");
        send(
            &mut customer,
            json!({"type": "signal", "data": {"sdp": "x".repeat(20_000)}}),
        )
        .await;
        let (e, _) = frame_of(&mut customer, "error").await;
        assert_eq!(e["code"], "invalid_frame");

        // The text side works during the call.
        send(
            &mut customer,
            json!({"type": "send", "client_id": "a1", "body": "Can you hear me?"}),
        )
        .await;
        let (m, _) = frame_of(&mut staff_ws, "message").await;
        assert_eq!(m["body"], "Can you hear me?");

        tokio::time::sleep(Duration::from_millis(1_100)).await;
        send(&mut customer, json!({"type": "hangup"})).await;
        let (state, _) = frame_of(&mut staff_ws, "call").await;
        assert_eq!(
            (state["state"].clone(), state["outcome"].clone()),
            (json!("ended"), json!("completed"))
        );

        // The record: staff see notes; the customer does not; secrets in notes are hidden.
        let r = app
            .put_json(
                &format!("/api/v1/chats/{id}/call-notes"),
                json!({"notes": "wants a limit raise"}),
                &kim,
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::NOT_FOUND,
            "customers keep no call notes"
        );
        let view = json_of(
            app.put_json(
                &format!("/api/v1/chats/{id}/call-notes"),
                json!({"notes": "Limit raise asked; customer read 4111 1111 1111 1111 aloud"}),
                &agent,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let record = &view["call"];
        assert_eq!(record["outcome"], "completed");
        assert!(record["duration_s"].as_i64().unwrap() >= 1, "{record}");
        assert!(record["wait_s"].as_i64().unwrap() >= 0);
        assert_eq!(
            record["answered_by"]["badge"]
                .as_str()
                .map(|b| b.starts_with('A')),
            Some(true)
        );
        let notes = record["notes"].as_str().unwrap();
        assert!(
            notes.starts_with("Limit raise asked") && !notes.contains("4111 1111"),
            "{notes}"
        );
        let mine = json_of(
            app.get_auth(&format!("/api/v1/chats/{id}"), &kim).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(mine["call"]["outcome"], "completed");
        assert!(mine["call"].get("notes").is_none());
        let ticket = app
            .staff_view(&agent, call["ticket_id"].as_str().unwrap())
            .await;
        let kept = ticket["messages"].as_array().unwrap().iter().any(|m| {
            m["body"]
                .as_str()
                .unwrap_or("")
                .contains("In-app call / 网络电话: completed")
        });
        assert!(kept, "the call's record is kept on its ticket: {ticket}");

        // A caller who hangs up before anyone answers abandoned the call.
        let second = json_of(
            app.post_json("/api/v1/chats", json!({"media": "voice"}), Some(&kim))
                .await,
            StatusCode::CREATED,
        )
        .await;
        let second = second["id"].as_str().unwrap();
        let mut ws = app.chat_ws(second, &kim, 0).await.unwrap();
        let (state, _) = frame_of(&mut ws, "call").await;
        assert_eq!(state["state"], "ringing");
        send(&mut ws, json!({"type": "hangup"})).await;
        let (state, _) = frame_of(&mut ws, "call").await;
        assert_eq!(
            (state["state"].clone(), state["outcome"].clone()),
            (json!("ended"), json!("abandoned"))
        );
        // A text chat is no call.
        let text = json_of(app.start_chat(&kim, "hi").await, StatusCode::CREATED).await;
        let text = text["id"].as_str().unwrap();
        let mut ws = app.chat_ws(text, &kim, 0).await.unwrap();
        send(&mut ws, json!({"type": "hangup"})).await;
        let (e, _) = frame_of(&mut ws, "error").await;
        assert_eq!(e["code"], "invalid_frame");
        let r = app
            .put_json(
                &format!("/api/v1/chats/{text}/call-notes"),
                json!({"notes": "x"}),
                &agent,
            )
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        // In a text chat the agent's first message is the ticket's first response, kept on it
        // as a public reply on the chat channel (no mail: the customer read it live).
        let text_ticket = app.state.db.chat(text).await.unwrap().unwrap().ticket_id;
        let mut staff_ws = app.chat_ws(text, &agent, 0).await.unwrap();
        frame_of(&mut staff_ws, "hello").await;
        let before = app.state.db.ticket(&text_ticket).await.unwrap().unwrap();
        assert_eq!(before.first_responded_at_ms, None);
        send(
            &mut staff_ws,
            json!({"type": "send", "client_id": "s1", "body": "Hello, I am here"}),
        )
        .await;
        frame_of(&mut staff_ws, "ack").await;
        send(
            &mut staff_ws,
            json!({"type": "send", "client_id": "s2", "body": "Second"}),
        )
        .await;
        frame_of(&mut staff_ws, "ack").await;
        let after = app.state.db.ticket(&text_ticket).await.unwrap().unwrap();
        assert!(after.first_responded_at_ms.is_some());
        let view = app.staff_view(&agent, &text_ticket).await;
        let replies: Vec<&Value> = view["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["channel"] == "chat" && m["internal"] == false && m["from"] == "agent")
            .collect();
        assert_eq!(
            replies.len(),
            1,
            "only the first message is the reply: {view}"
        );
        assert_eq!(replies[0]["body"], "Hello, I am here");
    }
);

/// Opens a chat's WebSocket with a page's cookies and an `Origin` (or none).
async fn cookie_ws(
    app: &App,
    chat: &str,
    cookies: &str,
    origin: Option<&str>,
) -> Result<Socket, u16> {
    let url = format!("{}/chats/{chat}/ws", app.url("").replacen("http", "ws", 1));
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("cookie", cookies.parse().unwrap());
    if let Some(o) = origin {
        request.headers_mut().insert("origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

both_backends!(
    the_pages_chat_over_a_cookie_session_from_this_site_only,
    |backend| async move {
        use crate::accounts::STRONG;
        use crate::pages::Browser;

        let app = App::spawn(backend).await;
        let (admin, agent_id, agent) = desk(&app, 5).await;
        let _ = (&admin, &agent_id);
        app.customer("kim@example.com").await;
        let mut kim = Browser::new(&app);
        assert_eq!(kim.log_in("kim@example.com", STRONG).await.status, 303);
        let page = kim.get("/support/chat").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Free in-app call"), "{}", page.body);
        let started = kim
            .submit(
                "/support/chat",
                "/support/chat",
                &[
                    ("media", "text"),
                    ("category", "funds_delayed"),
                    ("message", "Where is my deposit?"),
                ],
            )
            .await;
        assert_eq!(started.status, 303, "{}", started.body);
        let room = started.headers["location"].to_str().unwrap().to_owned();
        let chat = room.trim_start_matches("/support/chats/").to_owned();
        let page = kim.get(&room).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Where is my deposit?"));
        assert!(page.body.contains(&format!("data-ws=\"/chats/{chat}/ws\"")));

        // The page's WebSocket: this site's origin only, a signed-in session only.
        let cookies = kim.cookie_header();
        let ours = app.url("");
        let ours = ours.trim_end_matches('/');
        assert_eq!(
            cookie_ws(&app, &chat, &cookies, None).await.err(),
            Some(403)
        );
        assert_eq!(
            cookie_ws(&app, &chat, &cookies, Some("https://evil.example"))
                .await
                .err(),
            Some(403),
            "another site's page cannot ride the cookie"
        );
        assert_eq!(
            cookie_ws(&app, &chat, "", Some(ours)).await.err(),
            Some(401)
        );
        let mut ws = cookie_ws(&app, &chat, &cookies, Some(ours)).await.unwrap();
        let (hello, _) = frame_of(&mut ws, "hello").await;
        assert_eq!(hello["you"], "customer");
        let (m, _) = frame_of(&mut ws, "message").await;
        assert_eq!(m["body"], "Where is my deposit?");
        // Someone else's cookie session is not in this chat.
        app.customer("eve@example.com").await;
        let mut eve = Browser::new(&app);
        eve.log_in("eve@example.com", STRONG).await;
        assert_eq!(
            cookie_ws(&app, &chat, &eve.cookie_header(), Some(ours))
                .await
                .err(),
            Some(404)
        );
        assert_eq!(eve.get(&room).await.status, 404);

        // The form without script: a fresh id per render, so posting it twice is one message.
        let page = kim.get(&room).await;
        let marker = "name=\"client_id\" value=\"";
        let at = page.body.find(marker).unwrap() + marker.len();
        let client_id = page.body[at..].split('"').next().unwrap().to_owned();
        let csrf = page.csrf();
        for _ in 0..2 {
            let r = kim
                .post(
                    &format!("{room}/send"),
                    &[
                        ("csrf", &csrf),
                        ("client_id", &client_id),
                        ("body", "Sent by form"),
                    ],
                )
                .await;
            assert_eq!(r.status, 303);
        }
        let (m, _) = frame_of(&mut ws, "message").await;
        assert_eq!(m["body"], "Sent by form");
        quiet(&mut ws).await;
        let full = json_of(
            app.get_auth(&format!("/api/v1/chats/{chat}"), &agent).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(full["messages"].as_array().unwrap().len(), 2, "{full}");
        // Without the CSRF token nothing is sent.
        let r = kim
            .post(
                &format!("{room}/send"),
                &[("client_id", "zz"), ("body", "forged")],
            )
            .await;
        assert_eq!(r.status, 403);

        // The agent's console shows the chat with the customer's messages.
        let mut console =
            crate::help_pages::staff(&app, "lead@example.com", identity::Role::Supervisor).await;
        let page = console.get(&format!("/agent/chats?open={chat}")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Sent by form"));
        assert!(page.body.contains("data-side=\"agent\""));
        // Staff opening the customer's page are sent to the console.
        let r = console.get(&room).await;
        assert_eq!(r.status, 303);

        // The customer ends it from the page.
        let page = kim.get(&room).await;
        let r = kim
            .post(&format!("{room}/end"), &[("csrf", &page.csrf())])
            .await;
        assert_eq!(r.status, 303);
        let (_, _) = frame_of(&mut ws, "ended").await;
        let page = kim.get(&room).await;
        assert!(page.body.contains("This conversation has ended"));
        assert!(
            !page.body.contains("data-chat-form"),
            "no composer once ended"
        );
    }
);

both_backends!(
    with_nobody_to_answer_the_chat_page_offers_a_ticket_a_callback_or_the_hotline,
    |backend| async move {
        use crate::accounts::STRONG;
        use crate::pages::Browser;

        let app = App::spawn(backend).await;
        let (_, admin) = staff(&app, "admin@example.com", identity::Role::Admin).await;
        app.desk_group(&admin, "general").await;
        app.customer("kim@example.com").await;
        let mut kim = Browser::new(&app);
        kim.lang = "zh-CN";
        kim.log_in("kim@example.com", STRONG).await;
        let page = kim
            .submit(
                "/support/chat",
                "/support/chat",
                &[
                    ("media", "voice"),
                    ("category", "payment_failed"),
                    ("message", "付款一直失败，提示余额不足"),
                ],
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("暂时没有客服可以接待"), "{}", page.body);
        assert!(page.body.contains("href=\"/support/callback\""));
        assert!(page.body.contains("href=\"/help/contact\""));
        assert!(
            page.body.contains("付款一直失败，提示余额不足"),
            "what was typed is kept"
        );
        let r = kim
            .post(
                "/support/chat/ticket",
                &[
                    ("csrf", &page.csrf()),
                    ("category", "payment_failed"),
                    ("message", "付款一直失败，提示余额不足"),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let to = r.headers["location"].to_str().unwrap().to_owned();
        assert!(to.starts_with("/support/tickets/"), "{to}");
        let ticket = kim.get(&to).await;
        assert!(ticket.body.contains("付款一直失败，提示余额不足"));
        let (_, kim_token) = (0, app.token("kim@example.com").await);
        let list = json_of(
            app.get_auth("/api/v1/chats", &kim_token).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(list["items"], json!([]), "no dead chat was left waiting");
    }
);
