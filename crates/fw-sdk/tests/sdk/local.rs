//! `fw_sdk::local`: the in-process local Flywheel.

use fw_sdk::local::LocalFlywheel;
use serde_json::json;

#[tokio::test]
async fn a_temporary_site_serves_its_admin_and_is_removed_on_stop() {
    let site = LocalFlywheel::start().await.unwrap();
    let dir = site.data_dir().to_path_buf();
    let fw = site.client();
    let me = fw.get_current_user().await.unwrap();
    assert_eq!(me.id.unwrap().as_str(), "admin@local");
    assert!(site.api_key().starts_with("127.0.0.1:"));
    fw.add_group(json!({"_id": "lab", "label": "Lab"}))
        .await
        .unwrap();
    assert_eq!(fw.groups().all().await.unwrap().len(), 1);
    assert!(dir.is_dir());
    site.stop().await.unwrap();
    assert!(!dir.exists(), "the temporary data directory is removed");
    // The server is gone: the same client now fails to connect (quickly).
    let error = fw.get_current_user().await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
}

#[tokio::test]
async fn a_given_data_directory_is_kept_and_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("site");
    let site = LocalFlywheel::start_in(&data).await.unwrap();
    site.client()
        .add_group(json!({"_id": "kept", "label": "Kept"}))
        .await
        .unwrap();
    site.stop().await.unwrap();
    assert!(data.is_dir(), "a given data directory is kept");
    let again = LocalFlywheel::start_in(&data).await.unwrap();
    let groups = again.client().groups().all().await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].id(), "kept");
    again.stop().await.unwrap();
}

#[tokio::test]
async fn dropping_the_site_stops_the_server_and_removes_its_directory() {
    let site = LocalFlywheel::start().await.unwrap();
    let dir = site.data_dir().to_path_buf();
    let addr = site.client().base_url().to_string();
    drop(site);
    // The stop runs as a task; give it a moment.
    for _ in 0..100 {
        if !dir.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(!dir.exists(), "{addr}: directory left after drop");
    let host_port = addr
        .trim_start_matches("http://")
        .trim_end_matches("/api")
        .to_string();
    assert!(
        tokio::net::TcpStream::connect(&host_port).await.is_err(),
        "{host_port} still accepts connections"
    );
}

#[tokio::test]
async fn added_users_get_their_own_clients() {
    let site = LocalFlywheel::start().await.unwrap();
    let ana = site
        .add_user("ana@example.org", json!({"firstname": "Ana"}))
        .await
        .unwrap();
    let me = ana.get_current_user().await.unwrap();
    assert_eq!(me.id.unwrap().as_str(), "ana@example.org");
    assert_eq!(me.firstname.as_deref(), Some("Ana"));
    site.client()
        .add_group(json!({"_id": "lab", "label": "Lab"}))
        .await
        .unwrap();
    assert!(ana.groups().all().await.unwrap().is_empty(), "not a member");
    site.stop().await.unwrap();
}
