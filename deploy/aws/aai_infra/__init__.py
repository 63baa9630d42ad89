"""The AWS CDK app for the AAI backend. Only `stack` and `migration` import aws_cdk."""
