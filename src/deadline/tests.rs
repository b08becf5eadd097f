use super::*;

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn spec(reg: Regulation, received: &str) -> DeadlineSpec {
    DeadlineSpec {
        regulation: Some(reg),
        received: Some(d(received)),
        ..DeadlineSpec::default()
    }
}

fn extended(reg: Regulation, received: &str, until: &str, notified: &str) -> DeadlineSpec {
    DeadlineSpec {
        extension: Some(Extension {
            until: d(until),
            reason: "complex request".to_string(),
            notified: d(notified),
        }),
        ..spec(reg, received)
    }
}

fn fields(problems: &[Problem]) -> Vec<(Field, bool)> {
    problems.iter().map(|p| (p.field, p.error)).collect()
}

#[test]
fn days_left_and_classification() {
    let dl = deadline(&spec(Regulation::Gdpr, "2026-01-31")).unwrap();
    assert_eq!(dl.effective_due(), d("2026-02-28"));
    // (today, days left, urgency with a 7-day look-ahead)
    let cases = [
        ("2026-02-01", 27, Urgency::OnTrack),
        ("2026-02-20", 8, Urgency::OnTrack),
        ("2026-02-21", 7, Urgency::DueSoon),
        ("2026-02-28", 0, Urgency::DueSoon),
        ("2026-03-01", -1, Urgency::Overdue),
        ("2026-04-01", -32, Urgency::Overdue),
    ];
    for (today, left, urgency) in cases {
        assert_eq!(dl.days_left(d(today)), left, "{today}");
        assert_eq!(dl.urgency(d(today), 7), urgency, "{today}");
    }
    assert_eq!(classify(3, 0), Urgency::OnTrack);
    assert_eq!(classify(0, 0), Urgency::DueSoon);
}

#[test]
fn an_extension_moves_the_due_date() {
    let s = extended(Regulation::Ccpa, "2026-01-01", "2026-03-20", "2026-02-10");
    let dl = deadline(&s).unwrap();
    assert_eq!(dl.due, d("2026-02-15"));
    assert_eq!(dl.effective_due(), d("2026-03-20"));
    assert_eq!(dl.days_left(d("2026-03-01")), 19);
}

#[test]
fn custom_takes_its_due_date_from_the_entry() {
    let s = DeadlineSpec {
        regulation: Some(Regulation::Custom),
        due: Some(d("2026-05-01")),
        ..DeadlineSpec::default()
    };
    assert!(check(&s, false, Some(d("2026-04-01"))).is_empty());
    assert_eq!(deadline(&s).unwrap().effective_due(), d("2026-05-01"));
}

#[test]
fn no_deadline_without_a_law_or_a_received_date() {
    assert_eq!(deadline(&DeadlineSpec::default()), None);
    let s = DeadlineSpec {
        regulation: Some(Regulation::Gdpr),
        ..DeadlineSpec::default()
    };
    assert_eq!(deadline(&s), None);
}

#[test]
fn extension_checks_per_regulation() {
    let today = Some(d("2026-12-31"));
    // (spec, the problems expected as (field, is error))
    let cases: Vec<(DeadlineSpec, Vec<(Field, bool)>)> = vec![
        // GDPR: +2 months, notified within the first month.
        (
            extended(Regulation::Gdpr, "2026-01-31", "2026-04-28", "2026-02-28"),
            vec![],
        ),
        (
            extended(Regulation::Gdpr, "2026-01-31", "2026-04-29", "2026-02-10"),
            vec![(Field::ExtensionUntil, true)],
        ),
        (
            extended(Regulation::Gdpr, "2026-01-31", "2026-03-31", "2026-03-01"),
            vec![(Field::ExtensionNotified, true)],
        ),
        // CCPA: +45 days once, notified within the first 45.
        (
            extended(Regulation::Ccpa, "2026-01-01", "2026-04-01", "2026-02-15"),
            vec![],
        ),
        (
            extended(Regulation::Ccpa, "2026-01-01", "2026-04-02", "2026-02-16"),
            vec![
                (Field::ExtensionUntil, true),
                (Field::ExtensionNotified, true),
            ],
        ),
        // LGPD: no extension at all.
        (
            extended(Regulation::Lgpd, "2026-03-01", "2026-03-20", "2026-03-05"),
            vec![(Field::Extension, true)],
        ),
        // PIPEDA: +30 days.
        (
            extended(Regulation::Pipeda, "2026-02-15", "2026-04-17", "2026-03-01"),
            vec![(Field::ExtensionUntil, true)],
        ),
        // An "extension" that ends before the original due date: a warning.
        (
            extended(Regulation::Vcdpa, "2026-03-01", "2026-04-01", "2026-03-02"),
            vec![(Field::ExtensionUntil, false)],
        ),
        // Notified before the request arrived, or in the future.
        (
            extended(Regulation::Cpa, "2026-03-01", "2026-05-01", "2026-02-01"),
            vec![(Field::ExtensionNotified, true)],
        ),
        (
            extended(Regulation::Ctdpa, "2026-12-20", "2027-03-01", "2027-01-02"),
            vec![(Field::ExtensionNotified, true)],
        ),
    ];
    for (s, want) in cases {
        assert_eq!(fields(&check(&s, false, today)), want, "{s:?}");
    }
}

#[test]
fn received_checks() {
    let today = Some(d("2026-06-01"));
    let future = spec(Regulation::Gdpr, "2026-06-02");
    assert_eq!(
        fields(&check(&future, false, today)),
        vec![(Field::Received, true)]
    );
    assert!(check(&spec(Regulation::Gdpr, "2026-06-01"), false, today).is_empty());
    // Without a known today the future is not judged.
    assert!(check(&future, false, None).is_empty());
    // A law without `received:`, or a project that requires it.
    let no_received = DeadlineSpec {
        regulation: Some(Regulation::Ccpa),
        ..DeadlineSpec::default()
    };
    assert_eq!(
        fields(&check(&no_received, false, today)),
        vec![(Field::Received, true)]
    );
    assert_eq!(
        fields(&check(&DeadlineSpec::default(), true, today)),
        vec![(Field::Received, true)]
    );
    assert!(check(&DeadlineSpec::default(), false, today).is_empty());
    // `received:` without a law: a warning only.
    let bare = DeadlineSpec {
        received: Some(d("2026-05-01")),
        ..DeadlineSpec::default()
    };
    assert_eq!(
        fields(&check(&bare, false, today)),
        vec![(Field::Received, false)]
    );
}

#[test]
fn due_only_with_custom() {
    let s = DeadlineSpec {
        due: Some(d("2026-05-01")),
        ..spec(Regulation::Gdpr, "2026-04-01")
    };
    assert_eq!(fields(&check(&s, false, None)), vec![(Field::Due, true)]);
    let s = DeadlineSpec {
        regulation: Some(Regulation::Custom),
        ..DeadlineSpec::default()
    };
    assert_eq!(
        fields(&check(&s, false, None)),
        vec![(Field::Regulation, true)]
    );
}

#[test]
fn completion_on_the_due_day_is_on_time_and_the_day_after_is_late() {
    let dl = deadline(&spec(Regulation::Lgpd, "2026-03-01")).unwrap();
    assert_eq!(dl.effective_due(), d("2026-03-16"));
    let day = |s: &str| (d("1970-01-01").days_until(d(s))) * 86_400;
    let on_time = dl.completion(day("2026-03-16") + 86_399);
    assert!(!on_time.late);
    assert_eq!(on_time.days_late, 0);
    let late = dl.completion(day("2026-03-19") + 5);
    assert!(late.late);
    assert_eq!(late.days_late, 3);
    assert_eq!(late.completed_on, d("2026-03-19"));
}

#[test]
fn phrases_and_stuck_jobs() {
    assert_eq!(days_left_phrase(0), "due today");
    assert_eq!(days_left_phrase(1), "1 day left");
    assert_eq!(days_left_phrase(12), "12 days left");
    assert_eq!(days_left_phrase(-1), "1 day overdue");
    assert_eq!(days_left_phrase(-4), "4 days overdue");
    let created = (d("1970-01-01").days_until(d("2026-01-01"))) * 86_400 + 3600;
    assert!(!job_is_stuck(created, d("2026-01-31")));
    assert!(job_is_stuck(created, d("2026-02-01")));
}
