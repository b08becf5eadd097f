fn main() -> std::process::ExitCode {
    redactctl::cli::main()
}
