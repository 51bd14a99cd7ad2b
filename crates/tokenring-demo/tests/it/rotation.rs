//! Tests 3 and 4 of issue 13: two processes share one key file, and a rotation reaches both,
//! one through file events and one through polling.

use std::collections::BTreeSet;
use std::time::Duration;

use tokenring::{Clock, FileStore, Rotation, SystemClock};

use crate::support::{agent, align_to_second, healthz, kid_of, login, me, token_part, Demo};

#[test]
fn two_processes_on_one_key_file_accept_each_others_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.json");
    let agent = agent();
    let a = Demo::start(dir.path(), "a", &["--keys".as_ref(), keys.as_os_str()]);
    let b = Demo::start(dir.path(), "b", &["--keys".as_ref(), keys.as_os_str()]);

    let from_a = login(&agent, &a, "ada");
    let from_b = login(&agent, &b, "bob");
    assert_eq!(me(&agent, &b, &from_a).status, 200, "a token from A verifies on B");
    assert_eq!(me(&agent, &a, &from_b).status, 200, "a token from B verifies on A");
    assert_eq!(healthz(&agent, &a)["active_kid"], healthz(&agent, &b)["active_kid"]);
}

#[test]
fn a_rotation_reaches_a_watching_and_a_polling_process() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.json");
    let agent = agent();
    // A would poll only once an hour: it can pick the rotation up through file events alone.
    let a =
        Demo::start(dir.path(), "watching", &["--keys".as_ref(), keys.as_os_str(), "--poll".as_ref(), "1h".as_ref()]);
    let b = Demo::start(
        dir.path(),
        "polling",
        &["--keys".as_ref(), keys.as_os_str(), "--no-watch".as_ref(), "--poll".as_ref(), "500ms".as_ref()],
    );
    let old_from_a = login(&agent, &a, "ada");
    let old_from_b = login(&agent, &b, "bob");
    let old_kid = kid_of(&old_from_a);
    assert_eq!(kid_of(&old_from_b), old_kid);

    // What `tokenring keys rotate FILE --propagation 2s --overlap 1h` runs.
    align_to_second();
    let now = SystemClock.now_secs();
    let rotation = Rotation::new().propagation_secs(2).overlap_secs(3600);
    let new_kid = FileStore::new(&keys).update(|ring| Ok(ring.rotate(&rotation, now)?)).unwrap().to_string();
    let activate_at = now + 2;

    // Log in on both, alternately, until each has issued under the new key. Each token's `iat`
    // is the server's time of issue: before the activation it must name the old key. After it,
    // a node signs with the new key once it has loaded the file; how soon that is depends on
    // the machine's load, not on the library, so the old key is not a failure then (its tokens
    // verify everywhere for the overlap), and the loop waits, bounded, for the new one.
    let mut tokens = Vec::new();
    let mut new_from = BTreeSet::new();
    let mut before_activation = 0;
    for attempt in 0..400 {
        let node = if attempt % 2 == 0 { ("a", &a) } else { ("b", &b) };
        let token = login(&agent, node.1, "carol");
        let issued_at = token_part(&token, 1)["iat"].as_u64().unwrap();
        let kid = kid_of(&token);
        if issued_at < activate_at {
            assert_eq!(kid, old_kid, "node {} signed with the new key before its activation", node.0);
            before_activation += 1;
        } else if kid == new_kid {
            new_from.insert(node.0);
        } else {
            assert_eq!(kid, old_kid, "node {} signs with a key that is neither", node.0);
        }
        tokens.push(token);
        if new_from.len() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(new_from.len(), 2, "both nodes issued under the new key");
    println!("{} logins, {before_activation} before the activation", tokens.len());

    for demo in [&a, &b] {
        let health = healthz(&agent, demo);
        assert_eq!(health["generation"], 2, "reloaded once: {health}");
        assert_eq!(health["keys"], 2);
        assert_eq!(health["active_kid"], new_kid.as_str());
        assert_eq!(health["last_reload"]["result"].as_str().map(|result| result != "failed"), Some(true));
        for token in tokens.iter().chain([&old_from_a, &old_from_b]) {
            assert_eq!(me(&agent, demo, token).status, 200, "every token verifies on both nodes");
        }
    }
}
