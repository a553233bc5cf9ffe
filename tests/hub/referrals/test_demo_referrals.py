from django.core.management import call_command

from hub.referrals.constants import ReferralKind, TaskStatus
from hub.referrals.models import Opinion, Referral, SlaBreach


def test_the_demo_holds_requests_in_every_state(db):
    call_command("load_demo")
    count = Referral.objects.count()

    assert set(Referral.objects.values_list("status", flat=True)) == set(TaskStatus.values)
    assert Referral.objects.filter(business_status="awaiting-information").exists()
    assert set(Referral.objects.values_list("kind", flat=True)) == set(ReferralKind.values)
    assert SlaBreach.objects.exists()
    assert Opinion.objects.filter(appends__isnull=False).exists()
    call_command("load_demo")
    assert Referral.objects.count() == count
