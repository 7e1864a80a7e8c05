//! `network-get` and `goal-state` output, typed.

use std::collections::BTreeMap;

use serde::Deserialize;

/// What `network-get --format=json <binding>` says about one endpoint binding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct NetworkInfo {
    /// The unit's addresses on the binding's space, per interface.
    #[serde(default, deserialize_with = "null_as_default")]
    pub bind_addresses: Vec<BindAddress>,
    /// Addresses other units should use to reach this one (first is preferred).
    #[serde(default, deserialize_with = "null_as_default")]
    pub ingress_addresses: Vec<String>,
    /// Subnets traffic from this unit comes from.
    #[serde(default, deserialize_with = "null_as_default")]
    pub egress_subnets: Vec<String>,
}

impl NetworkInfo {
    /// The preferred ingress address, if any.
    pub fn ingress_address(&self) -> Option<&str> {
        self.ingress_addresses.first().map(String::as_str)
    }

    /// The first bind address, if any.
    pub fn bind_address(&self) -> Option<&str> {
        self.bind_addresses
            .iter()
            .flat_map(|b| b.addresses.iter())
            .map(|a| a.value.as_str())
            .find(|v| !v.is_empty())
    }
}

/// One interface of a [`NetworkInfo`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BindAddress {
    /// The interface's MAC address (may be empty).
    #[serde(default)]
    pub mac_address: String,
    /// The interface's name, e.g. `eth0`.
    #[serde(default)]
    pub interface_name: String,
    /// The addresses on this interface.
    #[serde(default, deserialize_with = "null_as_default")]
    pub addresses: Vec<Address>,
}

/// One address of a [`BindAddress`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Address {
    /// A host name for the address, if Juju knows one.
    #[serde(default)]
    pub hostname: String,
    /// The IP address. Juju before 2.9 called this `address`.
    #[serde(default, alias = "address")]
    pub value: String,
    /// The subnet, e.g. `10.1.2.0/24`.
    #[serde(default)]
    pub cidr: String,
}

/// What `goal-state --format=json` says: the units and relations the model is heading
/// for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct GoalState {
    /// This application's units by name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub units: BTreeMap<String, Goal>,
    /// Per endpoint, the related applications and units by name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub relations: BTreeMap<String, BTreeMap<String, Goal>>,
}

/// One entry of a [`GoalState`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Goal {
    /// `active`, `waiting`, `joining`, `dying`, ...
    pub status: String,
    /// When the status was reached (RFC 3339), as Juju printed it.
    #[serde(default)]
    pub since: String,
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
