//! `open-port`, `close-port`, `opened-ports`, `network-get`.

use super::*;

impl Call<'_> {
    pub(super) fn port(&mut self, args: &[String], open: bool) -> Out {
        let a = parse_args(&[FORMAT, value(&["endpoints"])], args)?;
        let Some(raw) = a.positional.first() else {
            return Err(ToolFailure::usage("no port or range specified"));
        };
        a.at_most(1)?;
        let port: PortRange = raw.parse().map_err(ToolFailure::usage)?;
        let ports = &mut self.unit()?.opened_ports;
        if open {
            ports.insert(port);
        } else {
            ports.remove(&port);
        }
        Ok(Vec::new())
    }

    pub(super) fn opened_ports(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT, boolean(&["endpoints"])], args)?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        a.at_most(0)?;
        let with_endpoints = a.bool("endpoints")?;
        let ports: Vec<Value> = self
            .unit()?
            .opened_ports
            .iter()
            .map(|p| {
                if with_endpoints {
                    Value::String(format!("{p} (*)"))
                } else {
                    Value::String(p.to_string())
                }
            })
            .collect();
        Ok(write(format, &Value::Array(ports)))
    }

    pub(super) fn network_get(&self, args: &[String]) -> Out {
        let a = parse_args(
            &[
                FORMAT,
                RELATION,
                boolean(&["primary-address"]),
                boolean(&["bind-address"]),
                boolean(&["ingress-address"]),
                boolean(&["egress-subnets"]),
            ],
            args,
        )?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        let Some(binding) = a.positional.first() else {
            return Err(ToolFailure::usage("no arguments specified"));
        };
        a.at_most(1)?;
        self.relation_id(&a)?;
        let known = binding == "juju-info"
            || self.st.bindings.contains(binding)
            || self.st.networks.contains_key(binding);
        if !known {
            return Err(ToolFailure::failed(format!(
                "no network config found for binding {binding:?}"
            )));
        }
        let network = self
            .st
            .networks
            .get(binding)
            .cloned()
            .unwrap_or_else(|| Network::for_address(&self.address()));
        let first_address = network
            .bind_addresses
            .iter()
            .flat_map(|b| b.addresses.iter())
            .map(|addr| Value::String(addr.value.clone()))
            .next()
            .unwrap_or(Value::Null);
        let mut picked = Vec::new();
        for (flag, key) in [
            ("primary-address", "primary-address"),
            ("bind-address", "bind-address"),
            ("ingress-address", "ingress-address"),
            ("egress-subnets", "egress-subnets"),
        ] {
            if a.bool(flag)? {
                let v = match key {
                    "ingress-address" => network
                        .ingress_addresses
                        .first()
                        .map(|s| Value::String(s.clone()))
                        .unwrap_or(Value::Null),
                    "egress-subnets" => json!(network.egress_subnets),
                    _ => first_address.clone(),
                };
                picked.push((key, v));
            }
        }
        if picked.len() == 1 {
            return Ok(write(format, &picked[0].1));
        }
        if !picked.is_empty() {
            return Ok(write(format, &to_value(picked)));
        }
        let binds: Vec<Value> = network
            .bind_addresses
            .iter()
            .map(|b| {
                json!({
                    "mac-address": b.mac_address,
                    "interface-name": b.interface_name,
                    "addresses": b.addresses.iter().map(|addr| json!({
                        "hostname": addr.hostname,
                        "value": addr.value,
                        "cidr": addr.cidr,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        Ok(write(
            format,
            &json!({
                "bind-addresses": binds,
                "egress-subnets": network.egress_subnets,
                "ingress-addresses": network.ingress_addresses,
            }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jujuc::tests::*;

    #[test]
    fn ports_open_close_and_list() {
        let mut st = model();
        let ctx = ToolContext::for_unit("kratos/0");
        run(&mut st, &ctx, "open-port", &["4434/tcp"]).unwrap();
        run(&mut st, &ctx, "open-port", &["4433"]).unwrap();
        run(&mut st, &ctx, "open-port", &["icmp"]).unwrap();
        run(&mut st, &ctx, "close-port", &["icmp"]).unwrap();
        assert_eq!(
            stdout(&mut st, &ctx, "opened-ports", &["--format=json"]),
            "[\"4433/tcp\",\"4434/tcp\"]\n"
        );
        assert_eq!(
            stdout(&mut st, &ctx, "opened-ports", &[]),
            "4433/tcp\n4434/tcp\n"
        );
        assert_eq!(failure(&mut st, &ctx, "open-port", &["80/sctp"]).code, 2);
    }
}
