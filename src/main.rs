fn main() -> std::process::ExitCode {
    caffers::cli::run()
}
