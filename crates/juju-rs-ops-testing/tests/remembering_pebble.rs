//! `Remembering` over the in-memory Pebble: which reads reach Pebble.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use juju_rs_ops::pebble::{Layer, Pebble, Remembering, Service, ServiceStartup};
use juju_rs_ops_testing::{FakePebble, PebbleCall};

/// A layer with one enabled service running `command`.
fn layer(command: &str) -> Layer {
    let mut layer = Layer::default();
    layer.services.insert(
        "svc".into(),
        Service {
            r#override: "replace".into(),
            command: command.into(),
            startup: Some(ServiceStartup::Enabled),
            ..Default::default()
        },
    );
    layer
}

fn count(fake: &FakePebble, wanted: &PebbleCall) -> usize {
    fake.calls().iter().filter(|c| *c == wanted).count()
}

#[test]
fn plan_and_services_are_read_once_until_changed_through_it() {
    let fake = FakePebble::new();
    fake.add_layer("base", &layer("/bin/a"), false).unwrap();
    fake.clear_calls();
    let pebble = Remembering::new(&fake);

    assert_eq!(pebble.plan().unwrap(), pebble.plan().unwrap());
    pebble.services(&["svc"]).unwrap();
    pebble.services(&["svc"]).unwrap();
    assert_eq!(count(&fake, &PebbleCall::Plan), 1);
    assert_eq!(count(&fake, &PebbleCall::Services(vec!["svc".into()])), 1);

    // Other names are another question.
    pebble.services(&[]).unwrap();
    assert_eq!(count(&fake, &PebbleCall::Services(vec![])), 1);

    // A change through it forgets the services; a layer forgets the plan too.
    pebble.replan().unwrap();
    let services = pebble.services(&[]).unwrap();
    assert_eq!(count(&fake, &PebbleCall::Services(vec![])), 2);
    assert!(services.iter().any(|s| s.name == "svc" && s.is_running()));
    assert_eq!(count(&fake, &PebbleCall::Plan), 1);
    pebble.add_layer("base", &layer("/bin/b"), true).unwrap();
    let plan = pebble.plan().unwrap();
    assert_eq!(count(&fake, &PebbleCall::Plan), 2);
    assert_eq!(plan.services["svc"].command, "/bin/b");
    for change in ["stop", "start", "restart"] {
        let before = count(&fake, &PebbleCall::Services(vec![]));
        match change {
            "stop" => pebble.stop(&["svc"]).unwrap(),
            "start" => pebble.start(&["svc"]).unwrap(),
            _ => pebble.restart(&["svc"]).unwrap(),
        }
        pebble.services(&[]).unwrap();
        assert_eq!(
            count(&fake, &PebbleCall::Services(vec![])),
            before + 1,
            "{change} must forget the service states"
        );
    }
    // Forgetting by hand reads both again.
    pebble.forget();
    pebble.plan().unwrap();
    assert_eq!(count(&fake, &PebbleCall::Plan), 3);
}

#[test]
fn an_error_is_not_remembered() {
    let fake = FakePebble::new();
    fake.set_cannot_connect(true);
    let pebble = Remembering::new(&fake);
    assert!(pebble.plan().is_err());
    fake.set_cannot_connect(false);
    assert!(pebble.plan().is_ok());
    assert!(pebble.services(&[]).is_ok());
}
