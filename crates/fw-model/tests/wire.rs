//! The wire fixtures round-trip: deserialize, serialize, compare as JSON values.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on broken fixtures

use std::collections::BTreeSet;
use std::path::PathBuf;

use fw_model::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn wire_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/wire")
}

fn fixture(name: &str) -> Value {
    let path = wire_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Reads fixture `name` as `T`, writes it back, and checks nothing changed.
fn round_trip<T: DeserializeOwned + Serialize>(name: &str) -> T {
    let original = fixture(name);
    let typed: T = serde_json::from_value(original.clone())
        .unwrap_or_else(|e| panic!("{name} as {}: {e}", std::any::type_name::<T>()));
    let written = serde_json::to_value(&typed).unwrap();
    assert_eq!(written, original, "{name} changed in a round trip");
    typed
}

macro_rules! round_trips {
    ($($name:literal => $ty:ty),* $(,)?) => {
        /// Every fixture, with the type it is read as.
        const COVERED: &[&str] = &[$($name),*];

        #[test]
        fn every_fixture_round_trips() {
            $( round_trip::<$ty>($name); )*
        }
    };
}

round_trips! {
    "group-minimal" => Group,
    "group-full" => Group,
    "group-unknown-fields" => Group,
    "project-minimal" => Project,
    "project-full" => Project,
    "project-unknown-fields" => Project,
    "subject-full" => Subject,
    "subject-unknown-fields" => Subject,
    "session-minimal" => Session,
    "session-full" => Session,
    "session-unknown-fields" => Session,
    "acquisition-minimal" => Acquisition,
    "acquisition-full" => Acquisition,
    "analysis-full" => Analysis,
    "analysis-list-item" => Analysis,
    "file-entry" => FileEntry,
    "file-node" => Container,
    "file-entry-legacy" => FileEntry,
    "container-session" => Container,
    "container-group" => Container,
    "note" => Note,
    "access-permission" => AccessPermission,
    "role-permission" => RolePermission,
    "inserted-id" => InsertedId,
    "modified-result" => ModifiedResult,
    "deleted-result" => DeletedResult,
    "error-body" => ErrorBody,
    "error-body-validation" => ErrorBody,
    "version" => Version,
    "config" => Config,
    "auth-status" => AuthStatus,
    "current-user" => User,
    "user" => User,
    "role" => Role,
    "modality" => Modality,
    "upload-ticket" => UploadTicket,
    "download-ticket" => DownloadTicket,
    "file-download-ticket" => FileDownloadTicket,
    "zip-info" => ZipInfo,
    "resolve-output" => ResolveOutput,
    "search-response" => Vec<SearchResponse>,
    "files-page" => Page<FileEntry>,
}

#[test]
fn no_fixture_goes_untested() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(wire_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let covered: BTreeSet<String> = COVERED.iter().map(|s| s.to_string()).collect();
    assert_eq!(on_disk, covered);
}

#[test]
fn typed_fields_are_typed() {
    let session: Session = round_trip("session-full");
    assert_eq!(
        session.id,
        Some(ContainerId::new("650000000000000000000003"))
    );
    assert_eq!(
        session.subject.as_ref().and_then(|s| s.code.as_deref()),
        Some("sub1")
    );
    assert_eq!(
        session.files.as_ref().unwrap()[0]
            .classification
            .as_ref()
            .unwrap()["Measurement"],
        ["T1"]
    );
    assert_eq!(session.weight, Some(72.5));

    let group: Group = round_trip("group-unknown-fields");
    assert_eq!(
        group.permissions.unwrap()[0].access,
        Some(Access::Other("superuser".into()))
    );
    assert_eq!(group.extra["billing_code"], "X-12");

    let subject: Subject = round_trip("subject-full");
    assert_eq!(subject.state, Some(SubjectState::InUtero));
    assert_eq!(subject.date_of_birth.unwrap().to_string(), "1990-05-01");

    let file: FileEntry = round_trip("file-entry");
    assert_eq!(file.file_id, Some(FileId::new("650000000000000000000006")));
    assert_eq!(
        file.id,
        Some(FileVersionId::new("3f2504e0-4f89-41d3-9a0c-0305e82c3301"))
    );
    assert_eq!(
        file.parent_ref.unwrap().r#type,
        Some(ContainerType::Acquisition)
    );

    let ticket: UploadTicket = round_trip("upload-ticket");
    assert!(ticket.urls.unwrap()["big.bin"].is_array());
}

#[test]
fn absent_fields_stay_absent_and_known_nulls_read_as_none() {
    let project: Project =
        serde_json::from_value(json!({"label": "P", "description": null})).unwrap();
    assert_eq!(project.description, None);
    assert_eq!(
        serde_json::to_value(&project).unwrap(),
        json!({"label": "P"})
    );
    assert_eq!(serde_json::to_value(Project::default()).unwrap(), json!({}));
    // Every output model reads `{}`, as in the Python SDK.
    let _: (
        Group,
        Project,
        Subject,
        Session,
        Acquisition,
        Analysis,
        FileEntry,
        User,
        Config,
    ) = serde_json::from_value(json!([{}, {}, {}, {}, {}, {}, {}, {}, {}])).unwrap();
}

#[test]
fn bodies_serialize_as_the_python_sdk_sends_them() {
    let body = SessionInput {
        label: Some("ses2".into()),
        age: Some(31557600),
        timestamp: Some(Timestamp::parse("2024-01-02T03:04:05+00:00").unwrap()),
        project: Some(ContainerId::new("650000000000000000000001")),
        subject: Some(SubjectRef::Embedded(EmbeddedSubject {
            id: Some(ContainerId::new("650000000000000000000002")),
            ..Default::default()
        })),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_string(&body).unwrap(),
        r#"{"project":"650000000000000000000001","label":"ses2","timestamp":"2024-01-02T03:04:05+00:00","subject":{"_id":"650000000000000000000002"},"age":31557600}"#
    );
    let delta = InfoUpdate {
        delete: Some(vec!["a".into(), "nested.b".into()]),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&delta).unwrap(),
        json!({"delete": ["a", "nested.b"]})
    );
    let classification = ClassificationUpdate {
        replace: Some([("Intent".to_string(), vec!["Structural".to_string()])].into()),
        modality: Some("MR".into()),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&classification).unwrap(),
        json!({"replace": {"Intent": ["Structural"]}, "modality": "MR"})
    );
    assert_eq!(
        serde_json::to_value(TagInput {
            value: "t".into(),
            ..Default::default()
        })
        .unwrap(),
        json!({"value": "t"})
    );
    let subject: SubjectRef = serde_json::from_value(json!("650000000000000000000002")).unwrap();
    assert_eq!(
        subject,
        SubjectRef::Id(ContainerId::new("650000000000000000000002"))
    );
}

#[test]
fn containers_are_discriminated_by_container_type() {
    let node: Container = round_trip("container-session");
    assert!(matches!(node, Container::Session(ref s) if s.label.as_deref() == Some("ses1")));
    assert_eq!(node.container_type(), ContainerType::Session);
    assert_eq!(node.id(), Some("650000000000000000000003"));

    let resolved: ResolveOutput = round_trip("resolve-output");
    let kinds: Vec<ContainerType> = resolved
        .path
        .unwrap()
        .iter()
        .map(Container::container_type)
        .collect();
    assert_eq!(
        kinds,
        [
            ContainerType::Group,
            ContainerType::Project,
            ContainerType::Subject
        ]
    );
    let children = resolved.children.unwrap();
    assert!(matches!(&children[0], Container::File(f) if f.parent_ref.is_some()));
    assert!(matches!(&children[1], Container::Analysis(_)));
    assert!(matches!(&children[2], Container::Other { kind, .. } if kind == "collection"));

    // Case-insensitive prefix, like the Python SDK.
    let node: Container =
        serde_json::from_value(json!({"container_type": "SessionContainerOutput"})).unwrap();
    assert!(matches!(node, Container::Session(_)));

    // Missing discriminator: an error, never a silent group.
    let err = serde_json::from_value::<Container>(
        json!({"_id": "650000000000000000000003", "label": "ses1"}),
    )
    .unwrap_err();
    assert!(err.to_string().contains("container_type"), "{err}");

    // Built in Rust, it still says what it is.
    let node = Container::Acquisition(Box::new(Acquisition {
        label: Some("T1w".into()),
        ..Default::default()
    }));
    assert_eq!(
        serde_json::to_value(&node).unwrap(),
        json!({"label": "T1w", "container_type": "acquisition"})
    );
}

#[test]
fn timestamps_accept_every_iso_form_and_write_back_unchanged() {
    let instant = |text: &str| Timestamp::parse(text).unwrap().utc().to_rfc3339();
    let table = [
        ("2024-05-06T07:08:09+02:00", "2024-05-06T05:08:09+00:00"),
        ("2024-05-06T05:08:09Z", "2024-05-06T05:08:09+00:00"),
        ("2024-05-06T05:08:09", "2024-05-06T05:08:09+00:00"),
        ("2024-05-06T05:08:09.5Z", "2024-05-06T05:08:09.500+00:00"),
        (
            "2024-05-06T05:08:09.123456789123+00:00",
            "2024-05-06T05:08:09.123456789+00:00",
        ),
        (
            "2024-05-06T05:08:09.678000+00:00",
            "2024-05-06T05:08:09.678+00:00",
        ),
        ("2024-05-06 07:08:09+0200", "2024-05-06T05:08:09+00:00"),
        ("2024-05-06T00:08:09-05", "2024-05-06T05:08:09+00:00"),
        ("2024-05-06", "2024-05-06T00:00:00+00:00"),
    ];
    for (text, utc) in table {
        assert_eq!(instant(text), utc, "{text}");
        let ts = Timestamp::parse(text).unwrap();
        assert_eq!(serde_json::to_value(&ts).unwrap(), json!(text));
    }
    assert!(Timestamp::parse("yesterday").is_err());
    assert!(
        serde_json::from_value::<Session>(json!({"timestamp": "2024-13-01T00:00:00Z"})).is_err()
    );

    // Made in Rust: written as Python's isoformat() writes it.
    use chrono::{FixedOffset, NaiveDate, TimeZone, Utc};
    let aware = FixedOffset::east_opt(7200)
        .unwrap()
        .with_ymd_and_hms(2024, 5, 6, 7, 8, 9)
        .unwrap();
    assert_eq!(Timestamp::from(aware).as_str(), "2024-05-06T07:08:09+02:00");
    let utc =
        Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap() + chrono::Duration::microseconds(678000);
    assert_eq!(
        Timestamp::from(utc).as_str(),
        "2024-01-02T03:04:05.678000+00:00"
    );
    let naive = NaiveDate::from_ymd_opt(2024, 5, 6)
        .unwrap()
        .and_hms_opt(7, 8, 9)
        .unwrap();
    assert_eq!(Timestamp::from_naive(naive).as_str(), "2024-05-06T07:08:09");
}

#[test]
fn time_zone_helpers() {
    let session: Session = round_trip("session-full");
    let original = session.original_timestamp().unwrap().unwrap();
    assert_eq!(original.to_rfc3339(), "2024-05-06T07:08:09+02:00");
    assert_eq!(format!("{}", original.timezone()), "Europe/Berlin");
    assert_eq!(
        session.local_timestamp().unwrap().timestamp(),
        original.timestamp()
    );

    let no_zone = Session {
        timestamp: session.timestamp.clone(),
        ..Default::default()
    };
    assert_eq!(no_zone.original_timestamp(), Err(TimeZoneError::Missing));
    let bad_zone = Session {
        timezone: Some("Mars/Olympus".into()),
        ..no_zone.clone()
    };
    assert_eq!(
        bad_zone.original_timestamp(),
        Err(TimeZoneError::Unknown("Mars/Olympus".into()))
    );
    assert_eq!(Session::default().original_timestamp(), Ok(None));
}

#[test]
fn age_helpers_match_the_python_sdk() {
    let session = Session {
        age: Some(946728000),
        ..Default::default()
    };
    assert_eq!(session.age_years(), Some(30.0));
    assert_eq!(session.age_months(), Some(365.25));
    assert!((session.age_weeks().unwrap() - 1565.357142857).abs() < 1e-9);
    assert_eq!(session.age_days(), Some(10957.5));
    assert_eq!(Session::default().age_years(), None);
    assert_eq!(
        Subject {
            age: Some(0),
            ..Default::default()
        }
        .age_years(),
        Some(0.0)
    );
}

#[test]
fn the_schema_names_its_api_version() {
    assert_eq!(API_VERSION, "flywheel-sdk 23.0.0");
}
