//! File-name errors count positions as fw-server does: the SDK's refusal (before
//! sending) and the server's 400 (for a client that does not check) name the same
//! position for the same name.

use fw_sdk::check_file_name;
use fw_transport::{Upload, UploadMode, UploadSource, UploadTarget};

/// The SDK said "position 4" (counting from 0) where fw-server says "position 5" for
/// `"scan\t1.nii"`, and filter errors count columns from 1.
#[tokio::test]
async fn the_sdk_and_the_server_name_the_same_position() {
    let site = crate::common::site().await;
    let t = crate::common::tree(&site.fw).await;
    for (name, shown, position) in [
        ("scan\t1.nii", "U+0009", 5),
        ("a:b.txt", "':'", 2),
        (":a", "':'", 1),
        ("日本*.nii", "'*'", 3),
    ] {
        let sdk = check_file_name(name).unwrap_err().to_string();
        assert!(
            sdk.contains(&format!("contains {shown} at position {position},")),
            "{name:?}: {sdk}"
        );
        // The server, sent the name by fw-transport alone (no SDK check), as a client
        // that does not check would send it.
        let source = UploadSource::Reader {
            name: name.to_string(),
            size: 1,
            reader: Box::new(std::io::Cursor::new(b"x".to_vec())),
        };
        let upload = Upload::new(
            UploadTarget::new("acquisitions", t.acquisition.id()),
            source,
        )
        .mode(UploadMode::Multipart);
        let err = site.fw.transport().upload(upload).await.unwrap_err();
        assert_eq!(err.status(), Some(400), "{name:?}: {err:?}");
        let message = format!("{err}");
        assert!(
            message.contains(&format!("{shown} at position {position} ")),
            "{name:?}: {message}"
        );
    }
}
