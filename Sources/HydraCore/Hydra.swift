/// hydra's version, printed by `hydra --version`.
public enum Hydra {
    public static let version = "0.1.0"
}
