from datetime import date

import pytest

from federation.identity.resident_id import InvalidResidentId, check_char, is_valid, make, parse

# Published GB 11643 examples: the standard's own sample and a number ending in X.
VALID = ["11010519491231002X", "440524188001010014"]


@pytest.mark.parametrize("number", VALID)
def test_it_accepts_numbers_whose_check_character_matches(number):
    assert is_valid(number)
    assert parse(number).number == number


def test_it_computes_the_iso_7064_mod_11_2_check_character():
    assert check_char("11010519491231002") == "X"
    assert check_char("44052418800101001") == "4"


def test_it_accepts_a_lower_case_x_and_normalizes_it():
    parsed = parse("11010519491231002x")
    assert parsed.number == "11010519491231002X"


def test_it_reads_birth_date_and_sex_from_the_number():
    parsed = parse("11010519491231002X")
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex == "female"  # 17th digit 2 is even
    assert parse("440524188001010014").sex == "male"


@pytest.mark.parametrize(
    "number, reason",
    [
        ("110105194912310021", "check character"),  # one off
        ("11010519491231002", "17 digits"),  # too short
        ("1101051949123100XX", "17 digits"),
        ("110105194913310028", "real date"),  # month 13
        ("010105194912310021", "region"),
        ("", "17 digits"),
    ],
)
def test_it_refuses_invalid_numbers_saying_why(number, reason):
    with pytest.raises(InvalidResidentId, match=reason):
        parse(number)
    assert not is_valid(number)


def test_swapping_two_digits_breaks_the_check_character():
    number = make("411321", date(1980, 5, 17), 123)
    swapped = number[:14] + number[15] + number[14] + number[16:]
    assert is_valid(number)
    assert not is_valid(swapped)


def test_make_encodes_sex_in_the_sequence():
    assert parse(make("411321", date(1990, 1, 2), 11)).sex == "male"
    assert parse(make("411321", date(1990, 1, 2), 12)).sex == "female"
