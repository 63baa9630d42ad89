#!/usr/bin/env python3
"""CDK entry point, run by cdk.json: `npx aws-cdk@2 synth -c env=dev`,
`npx aws-cdk@2 deploy -c env=prod -c image_tag=<sha>` (see README, Deployment)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aws_cdk as cdk
from aai_infra.config import DeployConfig
from aai_infra.stack import AaiStack


def build_app(context: dict | None = None, outdir: str | None = None) -> cdk.App:
    app = cdk.App(context=context, outdir=outdir)
    config = DeployConfig.from_context(app.node.try_get_context)
    AaiStack(
        app,
        f"Aai-{config.env_name}",
        config=config,
        env=cdk.Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
            region=os.environ.get("CDK_DEFAULT_REGION"),
        ),
        description=f"AAI backend ({config.env_name}): API, scheduler, PostgreSQL",
    )
    return app


if __name__ == "__main__":
    build_app().synth()
