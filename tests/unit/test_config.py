import pytest

from kiosk.config import Config, ConfigError, load_config


def test_missing_file_gives_defaults(tmp_path):
    assert load_config(tmp_path / "none.toml") == Config()


def test_template_round_trips_to_defaults(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(Config().template(), encoding="utf-8")
    assert load_config(path) == Config()


def test_values_are_read(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('hall_id = "H0420"\nlanguage = "en"\nidle_timeout_s = 120\n', encoding="utf-8")
    config = load_config(path)
    assert (config.hall_id, config.language, config.idle_timeout_s) == ("H0420", "en", 120)


@pytest.mark.parametrize(
    "text, word",
    [
        ('colour = "blue"', "colour"),
        ('idle_timeout_s = "90"', "idle_timeout_s"),
        ('language = "fr"', "language"),
        ("idle_timeout_s = 3", "idle_timeout_s"),
        ('guide_url_template = "https://x/"', "guide_url_template"),
        ("hall_id = ", "config.toml"),
    ],
)
def test_bad_values_name_the_key(tmp_path, text, word):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=word):
        load_config(path)


def test_sections_are_read_and_checked(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[sync]\ninterval_s = 5\n', encoding="utf-8")
    assert load_config(path).sync.interval_s == 5
    path.write_text('[sync]\ninterval = 5\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="sync.interval"):
        load_config(path)
    path.write_text('sync = 5\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[sync\]"):
        load_config(path)
