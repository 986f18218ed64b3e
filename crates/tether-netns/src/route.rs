//! Routes in the main table.

use std::net::IpAddr;

use ipnet::IpNet;
use rtnetlink::packet_route::route::RouteScope;
use rtnetlink::{Handle, RouteMessageBuilder};

use crate::link::link_index;
use crate::{Error, Result};

/// Adds a route to `dst` in the main table, like
/// `ip route add DST [via GW] [dev DEV]`: with a gateway the route has scope universe
/// (the gateway must be reachable on-link); without one it is a direct route with scope
/// link, and `dev` is required. `dst` is truncated to its network address (`0.0.0.0/0` is
/// the default route). [`Error::Exists`] when an identical route exists.
pub async fn add_route(
    h: &Handle,
    dst: IpNet,
    gw: Option<IpAddr>,
    dev: Option<&str>,
) -> Result<()> {
    let what = describe(dst, gw, dev);
    if gw.is_none() && dev.is_none() {
        return Err(Error::Invalid(format!(
            "route {what}: needs a gateway or a device"
        )));
    }
    if let Some(gw) = gw
        && gw.is_ipv4() != dst.addr().is_ipv4()
    {
        return Err(Error::Invalid(format!(
            "route {what}: address families differ"
        )));
    }
    let dst = dst.trunc();
    let invalid = |e| Error::Invalid(format!("route {what}: {e}"));
    let mut route = RouteMessageBuilder::<IpAddr>::new()
        .destination_prefix(dst.addr(), dst.prefix_len())
        .map_err(invalid)?;
    route = match gw {
        Some(gw) => route.gateway(gw).map_err(invalid)?,
        None => route.scope(RouteScope::Link),
    };
    if let Some(dev) = dev {
        route = route.output_interface(link_index(h, dev).await?);
    }
    h.route()
        .add(route.build())
        .execute()
        .await
        .map_err(|e| Error::netlink(format!("route {what}"), e))
}

fn describe(dst: IpNet, gw: Option<IpAddr>, dev: Option<&str>) -> String {
    let mut s = dst.to_string();
    if let Some(gw) = gw {
        s.push_str(&format!(" via {gw}"));
    }
    if let Some(dev) = dev {
        s.push_str(&format!(" dev {dev}"));
    }
    s
}
