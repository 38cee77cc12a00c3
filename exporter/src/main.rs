fn main() {
    println!("vigil-exporter: under construction");
}
