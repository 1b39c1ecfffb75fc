//! `rask::distributed::connect_from_env`: the address, token and TLS settings a user program
//! takes from the environment, as the `rask` command line does. (Its own test binary: it sets
//! process-wide environment variables.)

use rask::distributed::{SchedulerHandle, SchedulerOptions, Security};

#[test]
fn a_program_connects_from_the_environment_with_clear_errors() {
    let mut opts = SchedulerOptions::new(Security::new(rask::registry(), "s3cret"));
    opts.listen = "127.0.0.1:0".into();
    opts.status = None;
    let scheduler = SchedulerHandle::start(opts).unwrap();
    let address = scheduler.address().to_string();

    std::env::remove_var("RASK_SCHEDULER");
    let e = rask::distributed::connect_from_env().unwrap_err().to_string();
    assert!(e.contains("RASK_SCHEDULER is not set"), "{e}");

    std::env::set_var("RASK_SCHEDULER", &address);
    std::env::set_var("RASK_TOKEN_FILE", "/nonexistent/rask-token");
    std::env::remove_var("RASK_TOKEN");
    let e = rask::distributed::connect_from_env().unwrap_err().to_string();
    assert!(e.contains("/nonexistent/rask-token") && e.contains("RASK_TOKEN"), "{e}");

    std::env::set_var("RASK_TOKEN", "wrong");
    let e = rask::distributed::connect_from_env().unwrap_err().to_string();
    assert!(e.to_lowercase().contains("token"), "{e}");

    std::env::set_var("RASK_TLS_CERT", "/tmp/cert.pem");
    let e = rask::distributed::connect_from_env().unwrap_err().to_string();
    assert!(e.contains("all three of RASK_TLS_CERT, RASK_TLS_KEY and RASK_TLS_CA"), "{e}");
    std::env::remove_var("RASK_TLS_CERT");

    std::env::set_var("RASK_TOKEN", "s3cret");
    let client = rask::distributed::connect_from_env().unwrap();
    assert!(client.workers().unwrap().is_empty());
}
