use std::io::ErrorKind;
use std::path::Path;

use super::*;
use crate::error::{KeySetError, StoreOp};

const DEADLINE: Duration = Duration::from_secs(10);

fn corrupt() -> StoreError {
    StoreError::Corrupt { path: Path::new("/keys/keys.json").into(), error: KeySetError::Empty }
}

fn not_found() -> StoreError {
    StoreError::NotFound { path: Path::new("/keys/keys.json").into() }
}

/// The read a `wake` at `now_secs` starts; panics if it starts none.
fn read(machine: &mut ReloadMachine, now_secs: u64) -> ReadId {
    let next = machine.wake(now_secs);
    assert_eq!(next.report, None);
    next.read.expect("a wake with no read under way starts one")
}

fn failed(next: &ReloadStep) -> Option<(&'static str, bool)> {
    match next.report {
        Some(ReloadReport::Failed { reason, repeated, .. }) => Some((reason, repeated)),
        _ => None,
    }
}

#[test]
fn a_wake_starts_a_read_and_its_result_is_reported_and_counted() {
    let mut machine = ReloadMachine::new(DEADLINE);
    assert_eq!(machine.status(), ReloadStatus::START);
    let first = read(&mut machine, 100);
    let next = machine.read_finished(first, 101, Ok(Reloaded::Changed { generation: 2 }));
    assert_eq!(next, ReloadStep { report: Some(ReloadReport::Changed { generation: 2 }), read: None });
    let second = read(&mut machine, 130);
    assert_ne!(first, second);
    let next = machine.read_finished(second, 130, Ok(Reloaded::Unchanged));
    assert_eq!(next.report, Some(ReloadReport::Unchanged { recovered: false }));
    let status = machine.status();
    assert_eq!(
        (status.last, status.at_secs, status.reloads, status.failures),
        (ReloadOutcome::Unchanged, Some(130), 2, 0)
    );
}

#[test]
fn a_wake_during_a_read_reads_again_once_it_ends() {
    let mut machine = ReloadMachine::new(DEADLINE);
    let first = read(&mut machine, 100);
    assert_eq!(machine.wake(100), ReloadStep::NOTHING, "one read at a time");
    assert_eq!(machine.wake(100), ReloadStep::NOTHING, "wakes during a read make one more read, not one each");
    let next = machine.read_finished(first, 101, Ok(Reloaded::Unchanged));
    assert_eq!(next.report, Some(ReloadReport::Unchanged { recovered: false }));
    let again = next.read.expect("the file may have changed after the read began");
    let next = machine.read_finished(again, 101, Ok(Reloaded::Unchanged));
    assert_eq!(next.read, None);
    assert_eq!(machine.status().reloads, 2);
}

#[test]
fn a_failure_is_new_once_then_repeated_while_it_stays_the_same_and_a_success_is_a_recovery() {
    let mut machine = ReloadMachine::new(DEADLINE);
    let mut reload = |now_secs, result| {
        let id = read(&mut machine, now_secs);
        machine.read_finished(id, now_secs, result)
    };
    assert_eq!(failed(&reload(1, Err(corrupt()))), Some(("corrupt", false)));
    assert_eq!(failed(&reload(2, Err(corrupt()))), Some(("corrupt", true)));
    assert_eq!(failed(&reload(3, Err(not_found()))), Some(("not-found", false)), "another failure is new");
    assert_eq!(failed(&reload(4, Err(corrupt()))), Some(("corrupt", false)));
    assert_eq!(reload(5, Ok(Reloaded::Unchanged)).report, Some(ReloadReport::Unchanged { recovered: true }));
    assert_eq!(reload(6, Ok(Reloaded::Unchanged)).report, Some(ReloadReport::Unchanged { recovered: false }));
    assert_eq!(failed(&reload(7, Err(corrupt()))), Some(("corrupt", false)), "new again after a success");
    assert_eq!(
        reload(8, Ok(Reloaded::Changed { generation: 3 })).report,
        Some(ReloadReport::Changed { generation: 3 })
    );
    assert_eq!(failed(&reload(9, Err(corrupt()))), Some(("corrupt", false)), "a change is a success too");
    let status = machine.status();
    assert_eq!((status.reloads, status.failures), (9, 6));
    assert_eq!(status.last, ReloadOutcome::Failed { reason: "corrupt" });
}

#[test]
fn the_failure_report_names_the_file_in_words() {
    let mut machine = ReloadMachine::new(DEADLINE);
    let id = read(&mut machine, 1);
    let Some(ReloadReport::Failed { error, .. }) = machine.read_finished(id, 1, Err(not_found())).report else {
        panic!("a failed read is reported failed");
    };
    assert_eq!(error, not_found().to_string());
}

#[test]
fn a_read_past_its_deadline_is_stuck_until_it_returns_and_no_second_read_starts() {
    let mut machine = ReloadMachine::new(Duration::from_millis(2500));
    let hung = read(&mut machine, 100);
    let next = machine.deadline_passed(hung, 103);
    assert_eq!(failed(&next), Some(("reload-stuck", false)));
    assert_eq!(next.read, None);
    let Some(ReloadReport::Failed { error, .. }) = next.report else { unreachable!() };
    assert_eq!(error, "the key file's read has not returned within 2500 ms");
    for now_secs in [130, 160] {
        let next = machine.wake(now_secs);
        assert_eq!(failed(&next), Some(("reload-stuck", true)), "at {now_secs}");
        assert_eq!(next.read, None, "still one read at a time");
    }
    assert_eq!(machine.deadline_passed(hung, 170), ReloadStep::NOTHING, "reported once per wake, not per deadline");
    // It returns: nothing to report (whatever it read is in place), and the next wake reads afresh.
    assert_eq!(machine.read_finished(hung, 175, Ok(Reloaded::Changed { generation: 2 })), ReloadStep::NOTHING);
    let fresh = read(&mut machine, 190);
    let next = machine.read_finished(fresh, 190, Ok(Reloaded::Unchanged));
    assert_eq!(next.report, Some(ReloadReport::Unchanged { recovered: true }));
    let status = machine.status();
    assert_eq!((status.reloads, status.failures, status.at_secs), (4, 3, Some(190)));
}

#[test]
fn a_wake_before_a_read_got_stuck_does_not_read_again_after_it() {
    let mut machine = ReloadMachine::new(DEADLINE);
    let hung = read(&mut machine, 100);
    assert_eq!(machine.wake(105), ReloadStep::NOTHING);
    let _ = machine.deadline_passed(hung, 110);
    assert_eq!(machine.read_finished(hung, 115, Ok(Reloaded::Unchanged)), ReloadStep::NOTHING);
}

#[test]
fn late_answers_change_nothing() {
    let mut machine = ReloadMachine::new(DEADLINE);
    let first = read(&mut machine, 100);
    let _ = machine.read_finished(first, 101, Ok(Reloaded::Unchanged));
    // The deadline of a read that has returned.
    assert_eq!(machine.deadline_passed(first, 110), ReloadStep::NOTHING);
    let second = read(&mut machine, 130);
    // A second answer to the first read, and its deadline, while the second is under way.
    assert_eq!(machine.read_finished(first, 131, Err(corrupt())), ReloadStep::NOTHING);
    assert_eq!(machine.deadline_passed(first, 131), ReloadStep::NOTHING);
    assert_eq!(machine.status().reloads, 1);
    let next = machine.read_finished(second, 132, Ok(Reloaded::Unchanged));
    assert_eq!(next.report, Some(ReloadReport::Unchanged { recovered: false }));
}

#[test]
fn every_store_error_has_its_reason() {
    let path = Path::new("/keys/keys.json");
    for (error, expected) in [
        (not_found(), "not-found"),
        (StoreError::Io { op: StoreOp::Read, kind: ErrorKind::PermissionDenied, path: path.into() }, "io"),
        (corrupt(), "corrupt"),
        (StoreError::Locked, "locked"),
        (StoreError::NotAFile { path: path.into() }, "not-a-file"),
        (StoreError::SymlinkLoop { path: path.into() }, "symlink-loop"),
        (StoreError::AlreadyExists, "store"),
        (StoreError::DirectoryNotFound { path: path.into() }, "store"),
    ] {
        assert_eq!(reason(&error), expected, "{error}");
    }
}

#[test]
fn a_late_answer_to_an_earlier_read_does_not_end_a_stuck_one() {
    let mut machine = ReloadMachine::new(DEADLINE);
    let first = read(&mut machine, 100);
    let _ = machine.read_finished(first, 100, Ok(Reloaded::Unchanged));
    let hung = read(&mut machine, 130);
    let _ = machine.deadline_passed(hung, 140);
    assert_eq!(machine.read_finished(first, 150, Ok(Reloaded::Unchanged)), ReloadStep::NOTHING);
    assert_eq!(failed(&machine.wake(160)), Some(("reload-stuck", true)), "still stuck");
}

#[test]
fn outcomes_have_their_names() {
    let names = [
        ReloadOutcome::Pending,
        ReloadOutcome::Unchanged,
        ReloadOutcome::Changed { generation: 2 },
        ReloadOutcome::Failed { reason: "corrupt" },
    ]
    .map(|outcome| outcome.as_str());
    assert_eq!(names, ["pending", "unchanged", "changed", "failed"]);
}
