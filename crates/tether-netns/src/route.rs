//! Routes in the main table.

use std::net::IpAddr;

use ipnet::IpNet;
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteProtocol, RouteScope, RouteType,
};
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
    let mut route = builder(dst, gw, &what)?;
    if gw.is_none() {
        route = route.scope(RouteScope::Link);
    }
    if let Some(dev) = dev {
        route = route.output_interface(link_index(h, dev).await?);
    }
    h.route()
        .add(route.build())
        .execute()
        .await
        .map_err(|e| Error::netlink(format!("route {what}"), e))
}

/// A route message for `dst` (truncated to its network) via `gw`, checking that the two are
/// of one family; `what` names the route in errors.
fn builder(dst: IpNet, gw: Option<IpAddr>, what: &str) -> Result<RouteMessageBuilder<IpAddr>> {
    if let Some(gw) = gw
        && gw.is_ipv4() != dst.addr().is_ipv4()
    {
        return Err(Error::Invalid(format!(
            "route {what}: address families differ"
        )));
    }
    let dst = dst.trunc();
    let invalid = |e| Error::Invalid(format!("route {what}: {e}"));
    let b = RouteMessageBuilder::<IpAddr>::new()
        .destination_prefix(dst.addr(), dst.prefix_len())
        .map_err(invalid)?;
    match gw {
        Some(gw) => b.gateway(gw).map_err(invalid),
        None => Ok(b),
    }
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

/// The routing protocol number marking the routes tether owns (`ip route ... proto 214`), so
/// that a sync finds its own routes and never touches anyone else's.
pub const TETHER_ROUTE_PROTO: u8 = 214;

/// A route tether owns: a destination reached through a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GatewayRoute {
    /// The destination prefix (truncated to its network address).
    pub dst: IpNet,
    /// The next hop.
    pub gw: IpAddr,
}

impl std::fmt::Display for GatewayRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&describe(self.dst, Some(self.gw), None))
    }
}

fn gateway_message(r: GatewayRoute) -> Result<rtnetlink::packet_route::route::RouteMessage> {
    Ok(builder(r.dst, Some(r.gw), &r.to_string())?
        .protocol(RouteProtocol::Other(TETHER_ROUTE_PROTO))
        .build())
}

/// Adds `ip route add DST via GW proto 214` to the main table. Exclusive: a route to the same
/// prefix that is not ours (the bridge's own subnet, another tool's) is left alone and
/// reported as [`Error::Exists`].
pub async fn add_gateway_route(h: &Handle, r: GatewayRoute) -> Result<()> {
    let msg = gateway_message(r)?;
    h.route()
        .add(msg)
        .execute()
        .await
        .map_err(|e| Error::netlink(format!("route {r}"), e))
}

/// Deletes a route made by [`add_gateway_route`]; a route already gone is not an error.
pub async fn delete_gateway_route(h: &Handle, r: GatewayRoute) -> Result<()> {
    let msg = gateway_message(r)?;
    match h.route().del(msg).execute().await {
        Ok(()) => Ok(()),
        Err(e) => match Error::netlink(format!("route {r}"), e) {
            e if e.is_not_found() => Ok(()),
            e => Err(e),
        },
    }
}

/// The gateway routes of the main table carrying [`TETHER_ROUTE_PROTO`], both families.
pub async fn tether_gateway_routes(h: &Handle) -> Result<Vec<GatewayRoute>> {
    use futures::TryStreamExt;
    // An unspecified family dumps the routes of every family.
    let probe = rtnetlink::packet_route::route::RouteMessage::default();
    let mut stream = h.route().get(probe).execute();
    let mut out = Vec::new();
    while let Some(msg) = stream
        .try_next()
        .await
        .map_err(|e| Error::netlink("listing routes", e))?
    {
        if msg.header.protocol != RouteProtocol::Other(TETHER_ROUTE_PROTO) {
            continue;
        }
        let mut dst = None;
        let mut gw = None;
        for a in &msg.attributes {
            match a {
                RouteAttribute::Destination(RouteAddress::Inet(v)) => dst = Some(IpAddr::V4(*v)),
                RouteAttribute::Destination(RouteAddress::Inet6(v)) => dst = Some(IpAddr::V6(*v)),
                RouteAttribute::Gateway(RouteAddress::Inet(v)) => gw = Some(IpAddr::V4(*v)),
                RouteAttribute::Gateway(RouteAddress::Inet6(v)) => gw = Some(IpAddr::V6(*v)),
                _ => {}
            }
        }
        let (Some(dst), Some(gw)) = (dst, gw) else {
            continue;
        };
        if let Ok(dst) = IpNet::new(dst, msg.header.destination_prefix_length) {
            out.push(GatewayRoute { dst, gw });
        }
    }
    Ok(out)
}

/// Makes every address of `dst` local to the namespace, like
/// `ip route replace local DST dev DEV` (table `local`, scope host): sockets can bind any of
/// them without an address per IP (the AnyIP trick).
pub async fn replace_local_route(h: &Handle, dst: IpNet, dev: &str) -> Result<()> {
    let what = format!("local {dst} dev {dev}");
    let route = builder(dst, None, &what)?
        .kind(RouteType::Local)
        .table_id(255)
        .scope(RouteScope::Host)
        .output_interface(link_index(h, dev).await?)
        .build();
    h.route()
        .add(route)
        .replace()
        .execute()
        .await
        .map_err(|e| Error::netlink(format!("route {what}"), e))
}
