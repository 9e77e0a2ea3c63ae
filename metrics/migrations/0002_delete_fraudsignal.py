from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('tracking', '0008_fraudsignal'),
        ('metrics', '0001_initial'),
    ]

    operations = [
        # Fraud signals moved to tracking (same table); only the model state leaves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(
                    name='FraudSignal',
                ),
            ],
        ),
    ]
