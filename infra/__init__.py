"""AWS resources of the platform: the CloudFormation template, and its local twin on moto."""
