from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('referrals', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='referral',
            name='person_uid',
            field=models.CharField(blank=True, max_length=64, verbose_name='person (MPI)'),
        ),
    ]
