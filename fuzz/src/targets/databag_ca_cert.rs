//! receive-ca-cert: a provider's application bag (v1 `certificates`), else its units'
//! bags (v0 `ca`/`chain`), into the CA bundle Kratos trusts.

use std::collections::BTreeMap;

use crate::{default_spec, input, Databag};
use arbitrary::Arbitrary;
use charm_kratos::integrations::ca_cert::{
    certificates_v0, certificates_v1, TrustedCas, CA_BUNDLE,
};
use charm_kratos::integrations::Contribute;
use serde::Deserialize;

#[derive(Debug, Deserialize, Arbitrary)]
struct Input {
    /// relation-get of the provider's application bag.
    #[serde(default)]
    app: Databag,
    /// relation-get of each provider unit's bag.
    #[serde(default)]
    units: BTreeMap<String, Databag>,
}

/// One fuzz input: parse, then feed what the parse gave on.
pub fn fuzz(data: &[u8]) {
    let Some(input) = input::<Input>(data) else {
        return;
    };
    // As ca_cert's read: v1 first, the units' v0 data when v1 gives none.
    let mut cas = match certificates_v1(&input.app) {
        Err(_) => return,
        Ok(cas) => cas,
    };
    if cas.is_empty() {
        for bag in input.units.values() {
            match certificates_v0(bag) {
                Ok(found) => cas.extend(found),
                Err(_) => return,
            }
        }
    }
    // Every block is normalised: it reads back as itself.
    for pem in &cas {
        assert_eq!(
            certificates_v0(&Databag::from([("ca".to_string(), pem.clone())])).as_deref(),
            Ok(&[pem.clone()][..])
        );
    }
    let mut spec = default_spec();
    TrustedCas {
        certificates: cas.into_iter().collect(),
    }
    .contribute(&mut spec);
    if let Some(bundle) = spec.files.get(CA_BUNDLE) {
        assert!(std::str::from_utf8(bundle).is_ok());
    }
}
