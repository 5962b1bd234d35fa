//! Construction, the auth check, and the site-level calls.

use std::time::Duration;

use fw_sdk::{Client, Error};

use crate::common::{ADMIN, site, unreachable_client};

#[tokio::test]
async fn construction_checks_the_key() {
    let site = site().await;
    let bad = format!("{}:__force_insecure:wrong-secret", site.running.addr);
    let err = Client::new(&bad).await.unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    // Skipping the check sends nothing, so a wrong key is only found by the first call.
    let fw = Client::builder(&bad)
        .skip_auth_check(true)
        .build()
        .await
        .unwrap();
    assert_eq!(fw.get_current_user().await.unwrap_err().status(), Some(401));
}

#[tokio::test]
async fn a_malformed_key_is_refused_before_sending() {
    let err = Client::new("no-colon-here").await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    let shown = err.to_string();
    assert!(shown.contains("no ':' between host and key"), "{shown}");
}

#[tokio::test]
async fn an_unreachable_site_is_a_transport_error() {
    let fw = unreachable_client().await;
    let err = fw.get_version().await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!((err.status(), err.is_not_found()), (None, false));
}

#[tokio::test]
async fn current_user_config_and_version() {
    let site = site().await;
    let fw = &site.fw;
    let me = fw.get_current_user().await.unwrap();
    assert_eq!(me.id.as_ref().map(|id| id.as_str()), Some(ADMIN));
    let status = fw.auth_status().await.unwrap();
    assert_eq!(status.user_id.as_ref().map(|u| u.as_str()), Some(ADMIN));
    assert_eq!(status.user_is_admin, Some(true));
    let config = fw.get_config().await.unwrap();
    assert_eq!(config.signed_url, Some(false));
    let version = fw.get_version().await.unwrap();
    assert_eq!(version.flywheel_release.as_deref(), Some("23.0.0"));
    assert!(fw.base_url().starts_with("http://127.0.0.1:"));
}

#[tokio::test]
async fn builder_options_are_applied() {
    let site = site().await;
    let fw = Client::builder(&site.running.admin_api_key())
        .connect_timeout(Duration::from_secs(2))
        .request_timeout(Duration::from_secs(5))
        .retries(1)
        .exhaustive(true)
        .request_concurrency(1)
        .pool_size(1)
        .build()
        .await
        .unwrap();
    // One request at a time: eight concurrent calls still all succeed, in turn.
    let calls = (0..8).map(|_| fw.get_version());
    let versions = futures_util::future::join_all(calls).await;
    assert_eq!(versions.iter().filter(|v| v.is_ok()).count(), 8);
    // `exhaustive=true` goes on every request; fw-server answers it like any admin call.
    assert_eq!(fw.groups().find("").await.unwrap().len(), 0);
}

/// `from_env` reads `FW_API_KEY`. Setting the environment of this process is not safe in
/// tests, so a child process runs `from_env_child` with the variable set.
#[tokio::test]
async fn from_env_reads_fw_api_key() {
    let site = site().await;
    // The child is waited for on a blocking thread, so that this runtime keeps serving it.
    let run = |envs: Vec<(&'static str, String)>| {
        tokio::task::spawn_blocking(move || {
            let mut child = std::process::Command::new(std::env::current_exe().unwrap());
            child
                .args(["--exact", "client::from_env_child", "--ignored"])
                .env_remove("FW_API_KEY")
                .envs(envs);
            child.status().unwrap().success()
        })
    };
    let key = vec![
        ("FW_API_KEY", site.running.admin_api_key()),
        ("FW_SDK_EXPECT_USER", ADMIN.to_string()),
    ];
    assert!(run(key).await.unwrap());
    let empty_home = vec![
        ("FLYWHEEL_USER_HOME", site.dir.path().display().to_string()),
        ("FW_SDK_EXPECT_ERROR", "cannot be read".to_string()),
    ];
    assert!(run(empty_home).await.unwrap());
}

#[tokio::test]
#[ignore = "run by from_env_reads_fw_api_key in a child process"]
async fn from_env_child() {
    match (
        std::env::var("FW_SDK_EXPECT_USER"),
        std::env::var("FW_SDK_EXPECT_ERROR"),
    ) {
        (Ok(user), _) => {
            let fw = Client::from_env().await.unwrap();
            let me = fw.get_current_user().await.unwrap();
            assert_eq!(me.id.unwrap().as_str(), user);
        }
        (_, Ok(expected)) => {
            let err = Client::from_env().await.unwrap_err();
            let shown = err.to_string();
            assert!(shown.contains(&expected), "{shown}");
            assert!(shown.contains(".config/flywheel/user.json"), "{shown}");
        }
        _ => {}
    }
}
