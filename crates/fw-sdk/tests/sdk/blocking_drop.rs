//! Blocking clients and local sites made outside async code (say in `spawn_blocking`) and
//! dropped inside it. Dropping a Tokio runtime in an async context panics; these drops
//! must not.

use fw_sdk::blocking;

/// A blocking client (the last clone of its runtime) dropped in async code used to panic
/// with "Cannot drop a runtime in a context where blocking is not allowed".
#[tokio::test]
async fn a_blocking_client_dropped_in_async_code_does_not_panic() {
    let site = fw_sdk::local::LocalFlywheel::start().await.unwrap();
    let key = site.api_key();
    let (fw, me) = tokio::task::spawn_blocking(move || {
        let fw = blocking::Client::new(&key).unwrap();
        let me = fw.get_current_user().unwrap();
        (fw, me)
    })
    .await
    .unwrap();
    assert_eq!(
        me.id.as_ref().map(|id| id.to_string()).as_deref(),
        Some("admin@local")
    );
    drop(fw);
    // The async side still works after the drop.
    assert_eq!(site.client().groups().all().await.unwrap().len(), 0);
    site.stop().await.unwrap();
}

/// A blocking local site dropped in async code: no panic, and its server goes away.
#[tokio::test]
async fn a_blocking_local_site_dropped_in_async_code_does_not_panic() {
    let (local, dir) = tokio::task::spawn_blocking(|| {
        let local = blocking::LocalFlywheel::start().unwrap();
        let dir = local.data_dir().map(|d| d.to_path_buf()).unwrap();
        (local, dir)
    })
    .await
    .unwrap();
    assert!(dir.exists());
    let base = local.client().base_url().to_string();
    drop(local);
    // The server stops and its temporary directory is removed, in the background.
    let mut gone = false;
    for _ in 0..100 {
        if !dir.exists() {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(gone, "{} still exists after the drop", dir.display());
    let addr = base
        .trim_start_matches("http://")
        .trim_end_matches("/api")
        .to_string();
    assert!(
        tokio::net::TcpStream::connect(&addr).await.is_err(),
        "{addr} still answers"
    );
}
