//! Runs the built-in agnhost standalone: `cargo run -p tether-agnhost --example agnhost -- netexec`.

fn main() -> std::process::ExitCode {
    tether_agnhost::main(std::env::args().skip(1).collect())
}
