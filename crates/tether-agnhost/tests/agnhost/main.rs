//! Component tests of tether-agnhost: every server on 127.0.0.1 with free ports, probed with
//! real TCP/UDP clients. Module map:
//! - `common`: a raw HTTP/1.1 client (so header spelling is visible) and a UDP helper
//! - `netexec`: every netexec endpoint, the UDP server, `/dial`, `/exit`, SIGTERM handling
//! - `serve_hostname`: HTTP, `--close`, raw TCP and UDP modes
//! - `misc`: liveness, test-webserver, porter, fake-gitserver, `main()` argument handling

mod common;
mod misc;
mod netexec;
mod serve_hostname;
