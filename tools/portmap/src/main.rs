fn main() -> std::process::ExitCode {
    tcpwhy_common::cli::main(portmap::run)
}
